//! Cutting CSV input into chunks at record ends, so that chunks can be parsed
//! on separate threads with exactly the records (and line numbers) a single
//! `csv` reader over the whole input would produce.
//!
//! The quote rules are those of `csv_core` with the defaults the ingest uses
//! (`,` delimiter, `"` quote with doubling, CR, LF or CRLF terminators): a
//! quote opens a quoted field only at the start of a field; inside one, `""`
//! is a literal quote and any other `"` closes it. A record ends at the first
//! CR or LF outside quotes; the cut goes just after that byte, so that the
//! reader of the next chunk starts where the whole-input reader would start
//! its next record (same line count, same blank-line skipping).

/// Index of the first `"` in `hay[from..]`.
fn find_quote(hay: &[u8], from: usize) -> Option<usize> {
    let h = &hay[from..];
    let mut i = 0;
    // Whole 32-byte blocks first (vectorised); then the exact position.
    for block in h.chunks_exact(32) {
        if block.iter().fold(false, |a, &b| a | (b == b'"')) {
            break;
        }
        i += 32;
    }
    h[i..].iter().position(|&b| b == b'"').map(|p| from + i + p)
}

fn is_term(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// End of the last complete record of `buf`, which begins at a record start:
/// the index just past the CR or LF that ended it. `None` when `buf` holds no
/// record end that can be told apart from a still-open quoted field.
pub(crate) fn last_record_end(buf: &[u8]) -> Option<usize> {
    // Unquoted stretches [a, b) of `buf`, in order.
    let mut segs: Vec<(usize, usize)> = Vec::new();
    let mut a = 0;
    let mut i = 0;
    'scan: loop {
        let Some(q) = find_quote(buf, i) else {
            segs.push((a, buf.len()));
            break;
        };
        if q == 0 || matches!(buf[q - 1], b',' | b'\r' | b'\n') {
            segs.push((a, q));
            let mut j = q + 1;
            loop {
                match find_quote(buf, j) {
                    // Still quoted at the end, or a final quote that may be
                    // the first half of `""`: nothing after `q` is known.
                    None => break 'scan,
                    Some(c) if c + 1 == buf.len() => break 'scan,
                    Some(c) if buf[c + 1] == b'"' => j = c + 2,
                    Some(c) => {
                        a = c + 1;
                        i = c + 1;
                        break;
                    }
                }
            }
        } else {
            i = q + 1;
        }
    }
    for &(a, b) in segs.iter().rev() {
        if let Some(t) = buf[a..b].iter().rposition(|&c| is_term(c)) {
            let mut j = a + t;
            while j > a && is_term(buf[j - 1]) {
                j -= 1;
            }
            // A run of terminators at the very start continues the previous
            // record's end (or blank lines): no record ends in `buf`.
            return (j > 0).then_some(j + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records and their reported lines, read by one `csv` reader.
    fn read_all(data: &[u8], base: u64) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(data);
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            let line = rec.position().unwrap().line() + base;
            out.push((line, rec.iter().map(<[u8]>::to_vec).collect()));
        }
        out
    }

    /// Cuts `data` greedily into chunks of at least `size` bytes and reads
    /// each on its own.
    fn read_chunked(data: &[u8], size: usize) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut out = Vec::new();
        let mut start = 0;
        let mut base = 0u64;
        while start < data.len() {
            let mut want = size;
            let end = loop {
                let stop = (start + want).min(data.len());
                if stop == data.len() {
                    break data.len();
                }
                if let Some(e) = last_record_end(&data[start..stop]) {
                    break start + e;
                }
                want *= 2;
            };
            let chunk = &data[start..end];
            out.extend(read_all(chunk, base));
            base += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
            start = end;
        }
        out
    }

    #[test]
    fn chunked_reading_matches_whole_reading_on_random_csv() {
        let alphabet: &[&[u8]] = &[
            b"a", b"bc", b",", b"\"", b"\"\"", b"\n", b"\r", b"\r\n", b"\n\n", b" ",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..3000 {
            let len = 1 + (next() % 60) as usize;
            let mut data = Vec::new();
            for _ in 0..len {
                data.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
            let whole = read_all(&data, 0);
            for size in [1, 2, 3, 5, 8, 13] {
                assert_eq!(
                    read_chunked(&data, size),
                    whole,
                    "case {case}, chunk {size}: {:?}",
                    String::from_utf8_lossy(&data)
                );
            }
        }
    }

    #[test]
    fn cuts_after_the_first_terminator_outside_quotes() {
        assert_eq!(last_record_end(b"a,b\nc,\"x\ny\"\nd"), Some(12));
        assert_eq!(last_record_end(b"a,\"x\ny"), None);
        assert_eq!(last_record_end(b"a\r\nb"), Some(2));
        assert_eq!(last_record_end(b"\n\nb"), None);
        assert_eq!(last_record_end(b"a5\"x\nb"), Some(5));
    }
}
