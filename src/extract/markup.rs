//! Reads the order id and SKUs from visible markup with the brand's CSS
//! selector rules, as lol_html handlers that only observe.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use lol_html::html_content::{Element, EndTag, TextChunk};
use lol_html::{ElementContentHandlers, Selector};

use super::config::SelectorRule;
use super::Candidate;

/// Longest element text buffered for one rule match.
const MAX_CAPTURE: usize = 1024;
/// Most matched elements awaiting their end tag, per rule.
const MAX_OPEN: usize = 64;
/// Most values kept per field, whatever the page holds.
const MAX_HITS: usize = 500;

/// Values found in markup so far, in page order.
#[derive(Debug, Clone, Default)]
pub struct MarkupHits {
    /// Order id candidates.
    pub order_ids: Vec<Candidate>,
    /// SKU candidates.
    pub skus: Vec<Candidate>,
}

/// Which field a rule fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The order id.
    OrderId,
    /// A SKU.
    Sku,
}

/// One lol_html content-handler registration.
pub type Handler = (Cow<'static, Selector>, ElementContentHandlers<'static>);

/// Decodes the character references that show up in ids and SKUs:
/// numeric ones and a few named ones; others are left as written.
pub fn decode_entities(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let semi = rest[1..].find(';').map(|p| p + 1).filter(|p| *p <= 10);
        let decoded = semi.and_then(|semi| {
            let name = &rest[1..semi];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                "ndash" => Some('–'),
                "mdash" => Some('—'),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let v = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(v)
                }
            }?;
            Some((c, semi + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn record(hits: &RefCell<MarkupHits>, field: Field, value: String, source: &str) {
    let mut h = hits.borrow_mut();
    let list = match field {
        Field::OrderId => &mut h.order_ids,
        Field::Sku => &mut h.skus,
    };
    if list.len() < MAX_HITS {
        list.push(Candidate {
            value,
            source: source.to_string(),
        });
    }
}

/// Handlers for `rules` filling `field` in `hits`. Rules whose selector does
/// not parse are skipped (config validation reports them).
pub fn handlers(
    rules: &[SelectorRule],
    field: Field,
    hits: &Rc<RefCell<MarkupHits>>,
) -> Vec<Handler> {
    let mut out = Vec::new();
    for rule in rules {
        let Ok(selector) = rule.selector.parse::<Selector>() else {
            continue;
        };
        let rule = Rc::new(rule.clone());
        let source: Rc<str> = match &rule.attr {
            Some(a) => format!("selector {} [{a}]", rule.selector).into(),
            None => format!("selector {}", rule.selector).into(),
        };
        if rule.attr.is_some() {
            let (rule, hits, source) = (rule.clone(), hits.clone(), source.clone());
            let on_el = move |el: &mut Element| {
                let raw = rule.attr.as_deref().and_then(|a| el.get_attribute(a));
                if let Some(v) = raw.and_then(|r| rule.clean(&decode_entities(&r))) {
                    record(&hits, field, v, &source);
                }
                Ok(())
            };
            out.push((
                Cow::Owned(selector),
                ElementContentHandlers::default().element(on_el),
            ));
            continue;
        }
        // Text rule: buffer the element's text until its end tag.
        let open: Rc<RefCell<Vec<String>>> = Rc::default();
        let on_el = {
            let (open, rule, hits, source) =
                (open.clone(), rule.clone(), hits.clone(), source.clone());
            move |el: &mut Element| {
                if !el.can_have_content() {
                    return Ok(());
                }
                {
                    let mut open = open.borrow_mut();
                    // End tags of implicitly closed elements never fire;
                    // keep the stack bounded.
                    if open.len() >= MAX_OPEN {
                        open.remove(0);
                    }
                    open.push(String::new());
                }
                let (open, rule, hits, source) =
                    (open.clone(), rule.clone(), hits.clone(), source.clone());
                let on_end = move |_: &mut EndTag| {
                    if let Some(text) = open.borrow_mut().pop() {
                        if let Some(v) = rule.clean(&decode_entities(&text)) {
                            record(&hits, field, v, &source);
                        }
                    }
                    Ok(())
                };
                if let Some(h) = el.end_tag_handlers() {
                    h.push(Box::new(on_end));
                }
                Ok(())
            }
        };
        let on_text = move |t: &mut TextChunk| {
            if let Some(buf) = open.borrow_mut().last_mut() {
                if buf.len() < MAX_CAPTURE {
                    buf.push_str(t.as_str());
                }
            }
            Ok(())
        };
        out.push((
            Cow::Owned(selector),
            ElementContentHandlers::default()
                .element(on_el)
                .text(on_text),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_common_references() {
        assert_eq!(
            decode_entities("A&amp;B&#45;7&#x41;&nbsp;x"),
            "A&B-7A\u{a0}x"
        );
        assert_eq!(
            decode_entities("R&D &unknown; &#xZZ; & end&"),
            "R&D &unknown; &#xZZ; & end&"
        );
        assert_eq!(decode_entities("&#1114112;é"), "&#1114112;é");
    }
}
