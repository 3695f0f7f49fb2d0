//! Escaping for every context the offer block writes into: HTML text and
//! attributes, URL components, and CSS values.

/// Escapes text for HTML element content and double- or single-quoted attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a URL component (RFC 3986 unreserved characters stay as they are).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Returns the colour if it is a hex colour or a plain CSS colour keyword.
pub fn safe_css_color(c: &str) -> Option<&str> {
    let c = c.trim();
    let hex = c.strip_prefix('#').is_some_and(|h| {
        matches!(h.len(), 3 | 4 | 6 | 8) && h.bytes().all(|b| b.is_ascii_hexdigit())
    });
    let keyword = !c.is_empty() && c.len() <= 32 && c.bytes().all(|b| b.is_ascii_alphabetic());
    (hex || keyword).then_some(c)
}

/// Returns the font stack if it only has letters, digits, spaces, commas, hyphens and quotes.
pub fn safe_css_font(f: &str) -> Option<&str> {
    let f = f.trim();
    let ok = !f.is_empty()
        && f.len() <= 200
        && f.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b',' | b'-' | b'"' | b'\''));
    ok.then_some(f)
}

/// Formats a price with its currency: a symbol for common currencies, else the ISO code.
pub fn money(amount: f64, currency: &str) -> String {
    let amount = if amount.is_finite() { amount } else { 0.0 };
    let code = currency.trim().to_ascii_uppercase();
    let symbol = match code.as_str() {
        "GBP" => Some("£"),
        "EUR" => Some("€"),
        "USD" => Some("$"),
        "JPY" => Some("¥"),
        "" => Some(""),
        _ => None,
    };
    let digits = if code == "JPY" { 0 } else { 2 };
    let n = format!("{amount:.digits$}");
    match symbol {
        Some(s) => format!("{s}{n}"),
        None => format!("{n} {code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escaping_covers_the_five_characters() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape_html("Größe ✓"), "Größe ✓");
    }

    #[test]
    fn url_components_are_percent_encoded() {
        assert_eq!(url_encode("a b/c?d=ü&e"), "a%20b%2Fc%3Fd%3D%C3%BC%26e");
        assert_eq!(url_encode("85123A-x_y.z~"), "85123A-x_y.z~");
    }

    #[test]
    fn css_values_are_allow_listed() {
        assert_eq!(safe_css_color("#0a0B0c"), Some("#0a0B0c"));
        assert_eq!(safe_css_color("teal"), Some("teal"));
        assert_eq!(safe_css_color("red;}"), None);
        assert_eq!(safe_css_color("#12"), None);
        assert_eq!(
            safe_css_font("'Inter', system-ui, sans-serif"),
            Some("'Inter', system-ui, sans-serif")
        );
        assert_eq!(safe_css_font("x;}body{"), None);
    }

    #[test]
    fn money_uses_symbols_or_codes() {
        assert_eq!(money(2.5, "GBP"), "£2.50");
        assert_eq!(money(1331.99, "eur"), "€1331.99");
        assert_eq!(money(1200.0, "JPY"), "¥1200");
        assert_eq!(money(9.999, "CHF"), "10.00 CHF");
        assert_eq!(money(f64::NAN, "USD"), "$0.00");
    }
}
