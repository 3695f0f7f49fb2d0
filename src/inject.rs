//! Inserts one block into a streaming HTML response without re-serialising it.
//!
//! lol_html is used here only as an *observer*: its handlers record byte
//! offsets (`source_location`) and never mutate the document, and its output
//! is used only to count how far it has parsed. The bytes sent to the browser
//! are always the origin's own bytes, copied from our buffer, plus the offer
//! block spliced in at one offset. So a page without offers is byte-identical
//! to the origin's by construction, and if lol_html fails half way (memory
//! limit, strict-mode ambiguity, anything) the rest of the origin's bytes
//! are forwarded untouched from that point on.
//!
//! ## Where the block goes when the SKUs arrive late
//!
//! Shops put the analytics payload that names the purchased SKUs anywhere,
//! often at the end of `<body>`, after the place where offers should appear.
//! We neither buffer the whole page nor inject a client-side script that moves
//! the block later (that would need a CSP nonce and shows offers only after
//! the script runs). Instead, bytes stream through until the insertion point;
//! if the decision is not known by then, only the bytes *after* that point are
//! held back, up to `hold_limit` bytes, until the order has been found and the
//! offers chosen. The shopper's browser already renders everything above the
//! insertion point, and the block is in place at first paint of the part
//! below. If the hold limit is reached first, the held bytes are released
//! unchanged and this page gets no offers: a late decision never costs the
//! page more than a bounded delay. With the default anchor (before
//! `</body>`), nothing but the closing tags is ever held.
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use lol_html::html_content::{Element, EndTag};
use lol_html::{ElementContentHandlers, HtmlRewriter, MemorySettings, Selector, Settings};

/// Where, relative to the anchor element, the block is inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    /// Just before the anchor's start tag.
    Before,
    /// Just after the anchor's end tag.
    #[default]
    After,
    /// Inside the anchor, right after its start tag.
    Prepend,
    /// Inside the anchor, right before its end tag.
    Append,
}

/// A configured insertion point: a CSS selector and a position; `None` means before `</body>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Anchor {
    /// CSS selector of the anchor element (first match wins).
    pub selector: Option<String>,
    /// Position relative to the anchor element.
    pub position: Position,
}

/// One `(selector, handlers)` pair, the shape lol_html's settings take.
pub type Handler = (
    std::borrow::Cow<'static, Selector>,
    ElementContentHandlers<'static>,
);

/// The handlers an observer registers with the rewriter.
pub type Handlers = Vec<Handler>;

/// Shared slot for the insertion offset, filled by the anchor handler.
type Offset = Rc<Cell<Option<usize>>>;

/// What the caller decided to insert.
#[derive(Debug)]
enum Decision {
    Pending,
    Insert(Vec<u8>),
    Nothing,
}

/// Streams origin bytes through, inserting at most one block at the anchor.
pub struct Injector {
    rewriter: Option<HtmlRewriter<'static, ByteCounter>>,
    /// Absolute count of input bytes lol_html has finished with.
    processed: Rc<Cell<usize>>,
    /// Absolute offset where the block goes, once the anchor has been seen.
    insert_at: Offset,
    /// Start of `</body>`: where the block goes if a configured anchor never appears.
    fallback_at: Offset,
    /// Origin bytes received but not yet forwarded; `pending[0]` is at offset `forwarded`.
    pending: Vec<u8>,
    forwarded: usize,
    decision: Decision,
    inserted: bool,
    /// The observers have seen all they need (set by the caller once it has decided).
    observed: bool,
    hold_limit: usize,
    failure: Rc<RefCell<Option<String>>>,
}

/// Output sink that only counts: lol_html's output is never sent, only measured.
struct ByteCounter(Rc<Cell<usize>>);

impl lol_html::OutputSink for ByteCounter {
    fn handle_chunk(&mut self, chunk: &[u8]) {
        self.0.set(self.0.get() + chunk.len());
    }
}

/// Default cap on bytes held back after the insertion point while waiting for a decision.
pub const DEFAULT_HOLD_LIMIT: usize = 256 * 1024;

/// Memory lol_html may use for one page before it gives up (the page then passes through).
const PARSER_MEMORY_LIMIT: usize = 4 * 1024 * 1024;

impl Injector {
    /// Creates an injector for one response; `observers` are extra read-only handlers
    /// (e.g. the order sniffer's). An invalid anchor selector disables injection.
    pub fn new(anchor: &Anchor, observers: Handlers, hold_limit: usize) -> Self {
        let processed = Rc::new(Cell::new(0usize));
        let insert_at: Offset = Rc::new(Cell::new(None));
        let fallback_at: Offset = Rc::new(Cell::new(None));
        let failure = Rc::new(RefCell::new(None));
        let mut handlers = observers;
        match anchor_handler(anchor, &insert_at) {
            Ok(h) => handlers.push(h),
            Err(e) => *failure.borrow_mut() = Some(e),
        }
        if anchor.selector.is_some() {
            if let Ok(h) = anchor_handler(&Anchor::default(), &fallback_at) {
                handlers.push(h);
            }
        }
        let settings = Settings::new().with_strict(false).with_memory_settings(
            MemorySettings::new().with_max_allowed_memory_usage(PARSER_MEMORY_LIMIT),
        );
        let settings = handlers
            .into_iter()
            .fold(settings, |s, h| s.append_element_content_handler(h));
        let sink = ByteCounter(processed.clone());
        let disabled = failure.borrow().is_some();
        Injector {
            rewriter: (!disabled).then(|| HtmlRewriter::new(settings, sink)),
            processed,
            insert_at,
            fallback_at,
            pending: Vec::new(),
            forwarded: 0,
            decision: if disabled {
                Decision::Nothing
            } else {
                Decision::Pending
            },
            inserted: false,
            observed: false,
            hold_limit,
            failure,
        }
    }

    /// Feeds the next chunk of origin bytes; returns the bytes to send to the browser now.
    pub fn write(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(chunk);
        self.stop_parsing_if_done();
        if let Some(rw) = self.rewriter.as_mut() {
            if let Err(e) = rw.write(chunk) {
                self.give_up(format!("html parser: {e}"));
            }
        }
        self.drain()
    }

    /// True while no decision has been made and the page may still get a block.
    pub fn awaiting_decision(&self) -> bool {
        matches!(self.decision, Decision::Pending)
    }

    /// True once the insertion point has been seen in the stream.
    pub fn anchor_seen(&self) -> bool {
        self.insertion_point().is_some()
    }

    /// The configured anchor's offset, else (once reached) the start of `</body>`.
    fn insertion_point(&self) -> Option<usize> {
        self.insert_at.get().or(self.fallback_at.get())
    }

    /// Sets the block to insert (`None`: no offers for this page); returns bytes now sendable.
    pub fn decide(&mut self, block: Option<Vec<u8>>) -> Vec<u8> {
        if self.awaiting_decision() {
            self.decision = match block {
                Some(b) if !b.is_empty() => Decision::Insert(b),
                _ => Decision::Nothing,
            };
        }
        self.drain()
    }

    /// Ends the stream; returns every byte not yet sent (and the block, if its point was reached).
    pub fn end(mut self) -> (Vec<u8>, Option<String>) {
        if let Some(rw) = self.rewriter.take() {
            if let Err(e) = rw.end() {
                self.give_up(format!("html parser at end: {e}"));
            }
        }
        if self.awaiting_decision() {
            self.decision = Decision::Nothing;
        }
        // Everything has been parsed: release all of it.
        self.processed.set(self.forwarded + self.pending.len());
        let out = self.drain();
        let failure = self.failure.borrow_mut().take();
        (out, failure)
    }

    /// How many origin bytes have been sent so far (the block not counted).
    pub fn forwarded(&self) -> usize {
        self.forwarded
    }

    /// Whether the block was inserted.
    pub fn inserted(&self) -> bool {
        self.inserted
    }

    /// The reason injection was abandoned, if it was.
    pub fn failure(&self) -> Option<String> {
        self.failure.borrow().clone()
    }

    /// Says the observers need to see nothing more (their owner has decided):
    /// once the block is placed, or there is none, the rest of the page is
    /// forwarded without being parsed.
    pub fn observers_done(&mut self) {
        self.observed = true;
    }

    /// Drops the parser when nothing is left for it to do: the observers are
    /// done and the block is placed (or there is none).
    fn stop_parsing_if_done(&mut self) {
        let settled = self.inserted || matches!(self.decision, Decision::Nothing);
        if self.observed && settled && self.rewriter.is_some() {
            self.rewriter = None;
            self.processed.set(usize::MAX);
        }
    }

    /// Abandons injection: from here on the origin's bytes pass straight through.
    fn give_up(&mut self, why: String) {
        self.failure.borrow_mut().get_or_insert(why);
        self.rewriter = None;
        if !self.inserted {
            self.decision = Decision::Nothing;
        }
        self.processed.set(usize::MAX);
    }

    /// Moves sendable bytes out of `pending`, splicing the block in at its offset.
    fn drain(&mut self) -> Vec<u8> {
        let end_abs = self.forwarded + self.pending.len();
        let limit = self.processed.get().min(end_abs);
        let mut out = Vec::new();
        if !self.inserted {
            if let Some(at) = self
                .insertion_point()
                .filter(|&at| at <= limit && at >= self.forwarded)
            {
                match std::mem::replace(&mut self.decision, Decision::Nothing) {
                    Decision::Insert(block) => {
                        self.take_to(at, &mut out);
                        out.extend_from_slice(&block);
                        self.inserted = true;
                    }
                    Decision::Pending => {
                        self.decision = Decision::Pending;
                        self.take_to(at, &mut out);
                        if end_abs - at > self.hold_limit {
                            self.failure
                                .borrow_mut()
                                .get_or_insert("hold limit reached before the decision".into());
                            self.decision = Decision::Nothing;
                        } else {
                            return out;
                        }
                    }
                    Decision::Nothing => {}
                }
            }
        }
        self.take_to(limit, &mut out);
        out
    }

    /// Appends pending bytes up to absolute offset `to` to `out`.
    fn take_to(&mut self, to: usize, out: &mut Vec<u8>) {
        let n = to.saturating_sub(self.forwarded).min(self.pending.len());
        // A slice copy and one move of the rest, not a byte-at-a-time drain.
        out.extend_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        self.forwarded += n;
    }
}

/// Builds the read-only handler that records the insertion offset.
fn anchor_handler(anchor: &Anchor, insert_at: &Offset) -> Result<Handler, String> {
    let (selector, position) = match &anchor.selector {
        Some(s) => (s.as_str(), anchor.position),
        None => ("body", Position::Append),
    };
    let parsed: Selector = selector
        .parse()
        .map_err(|e| format!("anchor selector {selector:?}: {e}"))?;
    let at = insert_at.clone();
    let handler = move |el: &mut Element| {
        if at.get().is_some() {
            return Ok(());
        }
        let start = el.source_location().bytes();
        match position {
            Position::Before => at.set(Some(start.start)),
            Position::Prepend => at.set(Some(start.end)),
            Position::After | Position::Append => {
                let at_end = at.clone();
                if let Some(handlers) = el.end_tag_handlers() {
                    handlers.push(Box::new(move |end: &mut EndTag| {
                        if at_end.get().is_none() {
                            let r = end.source_location().bytes();
                            at_end.set(Some(if position == Position::After {
                                r.end
                            } else {
                                r.start
                            }));
                        }
                        Ok(())
                    }));
                }
            }
        }
        Ok(())
    };
    Ok((
        std::borrow::Cow::Owned(parsed),
        ElementContentHandlers::default().element(handler),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        page: &[u8],
        chunk: usize,
        anchor: &Anchor,
        block: Option<&[u8]>,
        decide_after: usize,
    ) -> (Vec<u8>, bool) {
        let mut inj = Injector::new(anchor, Vec::new(), DEFAULT_HOLD_LIMIT);
        let mut out = Vec::new();
        for (i, c) in page.chunks(chunk.max(1)).enumerate() {
            out.extend(inj.write(c));
            if i + 1 == decide_after {
                out.extend(inj.decide(block.map(|b| b.to_vec())));
            }
        }
        let inserted_before_end = inj.inserted();
        let (rest, _) = inj.end();
        out.extend(rest);
        (out, inserted_before_end)
    }

    const PAGE: &str = "<!doctype html><html><head><title>Danke – ✓</title></head><body><div id=order><p>Order 1</p></div><footer>f</footer><script>dataLayer.push({})</script></body></html>";

    #[test]
    fn no_offers_means_identical_bytes_for_every_chunking() {
        for chunk in [1, 2, 3, 7, 64, 4096] {
            let (out, _) = run(PAGE.as_bytes(), chunk, &Anchor::default(), None, 1);
            assert_eq!(out, PAGE.as_bytes(), "chunk {chunk}");
        }
    }

    #[test]
    fn block_goes_before_body_end_by_default() {
        for chunk in [1, 5, 4096] {
            let (out, _) = run(
                PAGE.as_bytes(),
                chunk,
                &Anchor::default(),
                Some(b"<aside>X</aside>"),
                1,
            );
            let expected = PAGE.replace("</body>", "<aside>X</aside></body>");
            assert_eq!(String::from_utf8(out).unwrap(), expected, "chunk {chunk}");
        }
    }

    #[test]
    fn each_position_relative_to_a_selector() {
        let cases = [
            (Position::Before, "<body><B><div id=order>"),
            (Position::Prepend, "<div id=order><B><p>"),
            (Position::Append, "</p><B></div>"),
            (Position::After, "</div><B><footer>"),
        ];
        for (position, needle) in cases {
            let anchor = Anchor {
                selector: Some("#order".into()),
                position,
            };
            for chunk in [1, 3, 4096] {
                let (out, _) = run(PAGE.as_bytes(), chunk, &anchor, Some(b"<B>"), usize::MAX);
                // Decision never made before end: nothing inserted, bytes identical.
                assert_eq!(out, PAGE.as_bytes());
                let (out, _) = run(PAGE.as_bytes(), chunk, &anchor, Some(b"<B>"), 1);
                let s = String::from_utf8(out).unwrap();
                assert!(s.contains(needle), "{position:?} chunk {chunk}: {s}");
                assert_eq!(s.len(), PAGE.len() + 3);
            }
        }
    }

    #[test]
    fn a_late_decision_holds_only_the_bytes_after_the_anchor() {
        let anchor = Anchor {
            selector: Some("#order".into()),
            position: Position::After,
        };
        let mut inj = Injector::new(&anchor, Vec::new(), DEFAULT_HOLD_LIMIT);
        let cut = PAGE.find("<script>").unwrap();
        let sent = inj.write(&PAGE.as_bytes()[..cut]);
        let anchor_end = PAGE.find("</div>").unwrap() + "</div>".len();
        assert_eq!(
            sent,
            PAGE.as_bytes()[..anchor_end],
            "everything up to the anchor streams"
        );
        let mut out = sent;
        out.extend(inj.write(&PAGE.as_bytes()[cut..]));
        out.extend(inj.decide(Some(b"<B>".to_vec())));
        out.extend(inj.end().0);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            PAGE.replace("</div><footer>", "</div><B><footer>")
        );
    }

    #[test]
    fn hold_limit_releases_the_page_unchanged() {
        let filler = "<p>x</p>".repeat(200);
        let page =
            format!("<html><body><div id=order></div>{filler}<script>late</script></body></html>");
        let anchor = Anchor {
            selector: Some("#order".into()),
            position: Position::After,
        };
        let mut inj = Injector::new(&anchor, Vec::new(), 100);
        let mut out = Vec::new();
        for c in page.as_bytes().chunks(16) {
            out.extend(inj.write(c));
        }
        assert!(!inj.awaiting_decision(), "gave up waiting");
        out.extend(inj.decide(Some(b"<B>".to_vec())));
        out.extend(inj.end().0);
        assert_eq!(out, page.as_bytes());
    }

    #[test]
    fn invalid_selector_or_garbage_passes_through() {
        let anchor = Anchor {
            selector: Some("##!".into()),
            position: Position::After,
        };
        let (out, _) = run(PAGE.as_bytes(), 4, &anchor, Some(b"<B>"), 1);
        assert_eq!(out, PAGE.as_bytes());
        let garbage: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let (out, _) = run(&garbage, 13, &Anchor::default(), Some(b"<B>"), 1);
        assert_eq!(out, garbage);
    }

    #[test]
    fn a_missing_anchor_falls_back_to_before_body_end() {
        let anchor = Anchor {
            selector: Some("main".into()),
            position: Position::Append,
        };
        for chunk in [1, 7, 4096] {
            let (out, _) = run(PAGE.as_bytes(), chunk, &anchor, Some(b"<B>"), 1);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                PAGE.replace("</body>", "<B></body>"),
                "chunk {chunk}"
            );
        }
        let page = PAGE
            .replace("<div id=order>", "<main><div id=order>")
            .replace("<footer>", "</main><footer>");
        let (out, _) = run(page.as_bytes(), 3, &anchor, Some(b"<B>"), 1);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            page.replace("</main>", "<B></main>"),
            "the anchor wins when present"
        );
    }

    #[test]
    fn no_body_end_means_no_block() {
        let page = b"<html><body><p>truncated";
        let (out, _) = run(page, 3, &Anchor::default(), Some(b"<B>"), 1);
        assert_eq!(out, page);
    }
}
