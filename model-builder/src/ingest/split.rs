//! Cutting CSV input into chunks at record ends, so that chunks can be parsed
//! on separate threads with exactly the records (and line numbers) a single
//! `csv` reader over the whole input would produce.
//!
//! The quote rules are those of `csv_core` with the dialect the ingest uses
//! (a one-byte delimiter, `,` unless the mapping names another or the header
//! shows one, `"` quote with doubling, CR, LF or CRLF terminators): a
//! quote opens a quoted field only at the start of a field; inside one, `""`
//! is a literal quote and any other `"` closes it. A record ends at the first
//! CR or LF outside quotes; the cut goes just after that byte, so that the
//! reader of the next chunk starts where the whole-input reader would start
//! its next record (same line count, same blank-line skipping).
//!
//! [`Records`] then reads a chunk's records the way `csv` reads them (fields,
//! line positions, a byte-order mark skipped at the start of the file only),
//! lending fields from the chunk instead of copying every byte; random inputs
//! check it against `csv`.

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

/// Delimiters [`sniff_delimiter`] considers.
const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// The delimiter of a CSV whose input starts with `head`: of `,`, `;`, tab
/// and `|`, the one found most often outside quotes on the first line (the
/// header); `,` when none is.
pub(crate) fn sniff_delimiter(head: &[u8]) -> u8 {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let mut counts = [0usize; CANDIDATES.len()];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\r' | b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let best = (0..CANDIDATES.len()).fold(0, |a, i| if counts[i] > counts[a] { i } else { a });
    CANDIDATES[best]
}

/// End of the last complete record of `buf`, which begins at a record start:
/// the index just past the CR or LF that ended it. `None` when `buf` holds no
/// record end that can be told apart from a still-open quoted field.
///
/// `at_file_start`: `buf` starts the file, where `csv` skips a UTF-8
/// byte-order mark. `delim`: the field delimiter.
pub(crate) fn last_record_end(buf: &[u8], at_file_start: bool, delim: u8) -> Option<usize> {
    let first = if at_file_start && buf.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    // Unquoted stretches [a, b) of `buf`, in order.
    let mut segs: Vec<(usize, usize)> = Vec::new();
    let mut a = first;
    let mut i = first;
    'scan: loop {
        let Some(q) = find_quote(buf, i) else {
            segs.push((a, buf.len()));
            break;
        };
        if q == first || buf[q - 1] == delim || is_term(buf[q - 1]) {
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
            return (j > first).then_some(j + 1);
        }
    }
    None
}

/// Reads the records of one chunk as `csv` (flexible) would, but with the
/// line each record starts on (`csv` counts blank lines and a CRLF's LF
/// before a record into the record before), lending fields that are plain slices of the
/// chunk and copying only quoted fields with `""` or text after the closing
/// quote.
pub(crate) struct Records<'a> {
    data: &'a [u8],
    pos: usize,
    /// 1 + newlines consumed (as `csv_core` counts them).
    line: u64,
    /// (start, end, in scratch) per field of the current record.
    fields: Vec<(usize, usize, bool)>,
    scratch: Vec<u8>,
    delim: u8,
}

impl<'a> Records<'a> {
    /// `at_file_start`: a UTF-8 byte-order mark at the start is skipped, as
    /// `csv` does at the start of its input (and only there). `delim`: the
    /// field delimiter.
    pub(crate) fn new(data: &'a [u8], at_file_start: bool, delim: u8) -> Self {
        let bom = at_file_start && data.starts_with(b"\xef\xbb\xbf");
        Records {
            data,
            pos: if bom { 3 } else { 0 },
            line: 1,
            fields: Vec::new(),
            scratch: Vec::new(),
            delim,
        }
    }

    /// Reads the next record; returns the line it starts on, or `None` at
    /// the end.
    pub(crate) fn next_record(&mut self) -> Option<u64> {
        let d = self.data;
        let delim = self.delim;
        self.fields.clear();
        self.scratch.clear();
        let mut i = self.pos;
        while i < d.len() && is_term(d[i]) {
            self.line += (d[i] == b'\n') as u64;
            i += 1;
        }
        if i == d.len() {
            self.pos = i;
            return None;
        }
        // The line the record starts on, after blank lines and the LF of a
        // CRLF (`csv` reports the line before them: one too few on Windows
        // line endings).
        let line = self.line;
        loop {
            // At a field start.
            let (start, end, copied);
            if i < d.len() && d[i] == b'"' {
                let mut j = i + 1;
                // Start of content not yet copied; whether any was.
                let mut from = j;
                let mut any_copied = false;
                let s0 = self.scratch.len();
                let closed = loop {
                    let Some(q) = find_quote(d, j) else {
                        self.line += count_nl(&d[j..]);
                        break None;
                    };
                    self.line += count_nl(&d[j..q]);
                    if q + 1 < d.len() && d[q + 1] == b'"' {
                        self.scratch.extend_from_slice(&d[from..=q]);
                        any_copied = true;
                        j = q + 2;
                        from = j;
                        continue;
                    }
                    break Some(q);
                };
                let content_end = closed.unwrap_or(d.len());
                // Text after the closing quote is part of the field.
                let tail = closed.map_or(d.len(), |q| q + 1);
                let mut k = tail;
                while k < d.len() && d[k] != delim && !is_term(d[k]) {
                    k += 1;
                }
                if !any_copied && tail == k {
                    start = from;
                    end = content_end;
                    copied = false;
                } else {
                    self.scratch.extend_from_slice(&d[from..content_end]);
                    self.scratch.extend_from_slice(&d[tail..k]);
                    start = s0;
                    end = self.scratch.len();
                    copied = true;
                }
                i = k;
            } else {
                let mut k = i;
                while k < d.len() && d[k] != delim && !is_term(d[k]) {
                    k += 1;
                }
                start = i;
                end = k;
                copied = false;
                i = k;
            }
            self.fields.push((start, end, copied));
            if i >= d.len() {
                break;
            }
            let b = d[i];
            i += 1;
            if b == delim {
                if i >= d.len() {
                    self.fields.push((i, i, false));
                    break;
                }
                continue;
            }
            self.line += (b == b'\n') as u64;
            break;
        }
        self.pos = i;
        Some(line)
    }

    pub(crate) fn len(&self) -> usize {
        self.fields.len()
    }

    pub(crate) fn get(&self, k: usize) -> Option<&[u8]> {
        let &(a, b, copied) = self.fields.get(k)?;
        Some(if copied {
            &self.scratch[a..b]
        } else {
            &self.data[a..b]
        })
    }
}

fn count_nl(s: &[u8]) -> u64 {
    s.iter().filter(|&&b| b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records and their reported lines, read by one `csv` reader.
    fn read_all(data: &[u8], base: u64, delim: u8) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delim)
            .has_headers(false)
            .flexible(true)
            .from_reader(data);
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            // `csv`'s position is where it began looking for the record: add
            // the line breaks it skipped first.
            let pos = rec.position().unwrap();
            let mut from = pos.byte() as usize;
            if from == 0 && data.starts_with(b"\xef\xbb\xbf") {
                from = 3;
            }
            let skipped = data[from..]
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .filter(|&&b| b == b'\n')
                .count() as u64;
            let line = pos.line() + skipped + base;
            out.push((line, rec.iter().map(<[u8]>::to_vec).collect()));
        }
        out
    }

    /// Cuts `data` greedily into chunks of at least `size` bytes and reads
    /// each on its own.
    fn read_chunked(data: &[u8], size: usize, delim: u8) -> Vec<(u64, Vec<Vec<u8>>)> {
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
                if let Some(e) = last_record_end(&data[start..stop], start == 0, delim) {
                    break start + e;
                }
                want *= 2;
            };
            let chunk = &data[start..end];
            let mut r = Records::new(chunk, start == 0, delim);
            while let Some(line) = r.next_record() {
                out.push((
                    line + base,
                    (0..r.len()).map(|k| r.get(k).unwrap().to_vec()).collect(),
                ));
            }
            base += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
            start = end;
        }
        out
    }

    /// A small deterministic generator (xorshift64) for the random-input tests.
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    #[test]
    fn chunked_reading_matches_whole_reading_on_random_csv() {
        let alphabet: &[&[u8]] = &[
            b"a",
            b"bc",
            b",",
            b";",
            b"\"",
            b"\"\"",
            b"\n",
            b"\r",
            b"\r\n",
            b"\n\n",
            b" ",
            b"\xef\xbb\xbf",
        ];
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        for case in 0..3000 {
            let delim = [b',', b';'][case % 2];
            let len = 1 + (next() % 60) as usize;
            let mut data = Vec::new();
            for _ in 0..len {
                data.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
            let whole = read_all(&data, 0, delim);
            for size in [1, 2, 3, 5, 8, 13] {
                assert_eq!(
                    read_chunked(&data, size, delim),
                    whole,
                    "case {case}, chunk {size}: {:?}",
                    String::from_utf8_lossy(&data)
                );
            }
        }
    }

    fn read_own(data: &[u8], delim: u8) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut r = Records::new(data, true, delim);
        let mut out = Vec::new();
        while let Some(line) = r.next_record() {
            out.push((
                line,
                (0..r.len()).map(|k| r.get(k).unwrap().to_vec()).collect(),
            ));
        }
        out
    }

    #[test]
    fn own_record_reader_matches_csv_on_random_input() {
        let alphabet: &[&[u8]] = &[
            b"a",
            b"bc",
            b",",
            b"\t",
            b"\"",
            b"\"\"",
            b"\n",
            b"\r",
            b"\r\n",
            b"\n\n",
            b" ",
            b"\xc3\xa9",
            b"\xef\xbb\xbf",
        ];
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        for case in 0..20000 {
            let delim = [b',', b'\t'][case % 2];
            let len = (next() % 40) as usize;
            let mut data = Vec::new();
            for _ in 0..len {
                data.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
            assert_eq!(
                read_own(&data, delim),
                read_all(&data, 0, delim),
                "case {case}: {:?}",
                String::from_utf8_lossy(&data)
            );
        }
    }

    #[test]
    fn cuts_after_the_first_terminator_outside_quotes() {
        assert_eq!(
            last_record_end(b"a,b\nc,\"x\ny\"\nd", false, b','),
            Some(12)
        );
        assert_eq!(last_record_end(b"a,\"x\ny", false, b','), None);
        assert_eq!(last_record_end(b"a\r\nb", false, b','), Some(2));
        assert_eq!(last_record_end(b"\n\nb", false, b','), None);
        assert_eq!(last_record_end(b"a5\"x\nb", false, b','), Some(5));
        assert_eq!(last_record_end(b"a;\"x\ny", false, b';'), None);
        assert_eq!(last_record_end(b"a,\"x\ny", false, b';'), Some(5));
    }

    #[test]
    fn the_header_shows_the_delimiter() {
        assert_eq!(sniff_delimiter(b"order_id,sku,ts\n1;2;3;4"), b',');
        assert_eq!(
            sniff_delimiter(b"\xef\xbb\xbfInvoiceNo;StockCode;Description\r\n"),
            b';'
        );
        assert_eq!(sniff_delimiter(b"order\tsku\t\"a,b,c\"\n"), b'\t');
        assert_eq!(sniff_delimiter(b"order|sku"), b'|');
        assert_eq!(sniff_delimiter(b"sku"), b',');
        assert_eq!(sniff_delimiter(b""), b',');
    }
}
