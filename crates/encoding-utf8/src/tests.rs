use super::*;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Bytes that are mostly UTF-8 with every kind of malformation mixed in.
fn messy_bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
    const PIECES: [&[u8]; 16] = [
        b"a",
        b"<p>",
        "é".as_bytes(),
        "€".as_bytes(),
        "😀".as_bytes(),
        b"\xC3",             // truncated 2-byte
        b"\xE2\x82",         // truncated 3-byte
        b"\xF0\x9F\x98",     // truncated 4-byte
        b"\x80",             // lone continuation
        b"\xC0\xAF",         // overlong
        b"\xE0\x80\xAF",     // overlong 3-byte
        b"\xED\xA0\x80",     // surrogate
        b"\xF4\x90\x80\x80", // above U+10FFFF
        b"\xFF",
        b"\xF5",
        b"\xEF\xBB\xBF", // BOM
    ];
    let mut out = Vec::new();
    while out.len() < len {
        out.extend_from_slice(PIECES[rng.below(PIECES.len())]);
    }
    out
}

/// Decodes `input` fed in the given chunks through output buffers of `room` bytes.
fn stream_decode(input: &[u8], cuts: &[usize], room: usize) -> (String, bool) {
    let mut decoder = UTF_8.new_decoder_without_bom_handling();
    let mut text = String::new();
    let mut any_replaced = false;
    let mut buffer = "\0".repeat(room);
    let mut start = 0;
    for (i, &end) in cuts.iter().chain([&input.len()]).enumerate() {
        let last = i == cuts.len();
        let mut chunk = &input[start..end];
        loop {
            let (result, read, written, replaced) = decoder.decode_to_str(chunk, &mut buffer, last);
            any_replaced |= replaced;
            text.push_str(&buffer[..written]);
            chunk = &chunk[read..];
            if result == CoderResult::InputEmpty {
                assert!(chunk.is_empty());
                break;
            }
            assert!(written > 0 || read > 0, "no progress");
        }
        start = end;
    }
    (text, any_replaced)
}

#[test]
fn streaming_decode_matches_std_lossy_decode_for_any_chunking_and_buffer() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for case in 0..3000 {
        let len = rng.below(64) + 1;
        let input = messy_bytes(&mut rng, len);
        let mut cuts: Vec<usize> = (0..rng.below(6))
            .map(|_| rng.below(input.len() + 1))
            .collect();
        cuts.sort_unstable();
        let room = [4, 5, 7, 16, 1024][case % 5];
        let expected = String::from_utf8_lossy(&input);
        let (got, replaced) = stream_decode(&input, &cuts, room);
        assert_eq!(got, expected, "input {input:?} cuts {cuts:?} room {room}");
        assert_eq!(replaced, std::str::from_utf8(&input).is_err());
    }
}

#[test]
fn replaced_flag_reports_malformed_input_only() {
    let (text, replaced) = stream_decode("naïve 😀".as_bytes(), &[3, 4, 9], 8);
    assert_eq!(text, "naïve 😀");
    assert!(!replaced);
    let (text, replaced) = stream_decode(b"a\xE2\x82", &[2], 8);
    assert_eq!(text, "a\u{FFFD}");
    assert!(replaced);
}

#[test]
fn a_sequence_split_across_chunks_is_carried_over() {
    let mut decoder = UTF_8.new_decoder_without_bom_handling();
    let mut buffer = "\0".repeat(16);
    let euro = "€".as_bytes();
    let (result, read, written, _) = decoder.decode_to_str(&euro[..1], &mut buffer, false);
    assert_eq!((result, read, written), (CoderResult::InputEmpty, 1, 0));
    let (result, read, written, _) = decoder.decode_to_str(&euro[1..], &mut buffer, true);
    assert_eq!((result, read, written), (CoderResult::InputEmpty, 2, 3));
    assert_eq!(&buffer[..3], "€");
}

#[test]
fn stale_output_after_the_written_part_stays_valid_utf8() {
    let mut decoder = UTF_8.new_decoder_without_bom_handling();
    let mut buffer = "😀😀".to_string();
    let (_, _, written, _) = decoder.decode_to_str(b"ab", &mut buffer, true);
    assert_eq!(written, 2);
    assert!(std::str::from_utf8(buffer.as_bytes()).is_ok());
    assert_eq!(&buffer[..2], "ab");
}

#[test]
fn encoder_never_splits_a_character() {
    let mut encoder = UTF_8.new_encoder();
    let mut out = [0u8; 4];
    let (result, read, written, unmappable) = encoder.encode_from_utf8("a€b", &mut out, false);
    assert_eq!(
        (result, read, written, unmappable),
        (CoderResult::OutputFull, 4, 4, false)
    );
    let (result, read, _, _) = encoder.encode_from_utf8("😀", &mut out[..3], false);
    assert_eq!((result, read), (CoderResult::OutputFull, 0));
    let (result, read, _, _) = encoder.encode_from_utf8("b", &mut out, true);
    assert_eq!((result, read), (CoderResult::InputEmpty, 1));
}

#[test]
fn labels_name_utf8_and_windows_1252_only() {
    assert_eq!(Encoding::for_label(b" UTF-8\n"), Some(UTF_8));
    assert_eq!(Encoding::for_label_no_replacement(b"utf8"), Some(UTF_8));
    assert_eq!(Encoding::for_label(b"unicode-1-1-utf-8"), Some(UTF_8));
    assert_eq!(Encoding::for_label(b"shift_jis"), None);
    assert_eq!(Encoding::for_label(b"latin1"), Some(WINDOWS_1252));
    assert_eq!(Encoding::for_label(b"euc-jp"), None);
    assert_eq!(UTF_8.name(), "UTF-8");
}

#[test]
fn whole_buffer_helpers() {
    assert_eq!(Encoding::ascii_valid_up_to(b"abc\xC3\xA9"), 3);
    assert_eq!(Encoding::ascii_valid_up_to(b"abc"), 3);
    let (text, encoding, replaced) = UTF_8.decode(b"\xEF\xBB\xBFhi\xFF");
    assert_eq!(
        (text.as_ref(), encoding, replaced),
        ("hi\u{FFFD}", UTF_8, true)
    );
    let (text, replaced) = UTF_8.decode_without_bom_handling(b"\xEF\xBB\xBFhi");
    assert_eq!((text.as_ref(), replaced), ("\u{FEFF}hi", false));
    let (bytes, _, unmappable) = UTF_8.encode("é");
    assert_eq!((bytes.as_ref(), unmappable), ("é".as_bytes(), false));
}

#[test]
fn windows_1252_round_trips_and_writes_references_for_the_rest() {
    let all: Vec<u8> = (0..=255).collect();
    let (text, encoding, replaced) = WINDOWS_1252.decode(&all);
    assert_eq!((encoding, replaced), (WINDOWS_1252, false));
    assert_eq!(text.chars().count(), 256);
    assert_eq!(text.chars().nth(0x80), Some('€'));
    assert_eq!(text.chars().nth(0x9F), Some('Ÿ'));
    assert_eq!(text.chars().nth(0xE9), Some('é'));
    let (bytes, _, unmappable) = WINDOWS_1252.encode(&text);
    assert_eq!((bytes.as_ref(), unmappable), (&all[..], false));
    let (bytes, _, unmappable) = WINDOWS_1252.encode("a€😀");
    assert_eq!((bytes.as_ref(), unmappable), (&b"a\x80&#128512;"[..], true));
    assert_eq!(Encoding::for_label(b"Latin1"), Some(WINDOWS_1252));
}

#[test]
fn windows_1252_streams_through_small_buffers() {
    let all: Vec<u8> = (0..=255).collect();
    let mut decoder = WINDOWS_1252.new_decoder_without_bom_handling();
    let (mut text, mut rest) = (String::new(), &all[..]);
    let mut buffer = "\0".repeat(5);
    loop {
        let (result, read, written, _) = decoder.decode_to_str(rest, &mut buffer, true);
        text.push_str(&buffer[..written]);
        rest = &rest[read..];
        if result == CoderResult::InputEmpty {
            break;
        }
    }
    assert_eq!(text, WINDOWS_1252.decode(&all).0);
    let mut encoder = WINDOWS_1252.new_encoder();
    let (mut bytes, mut rest) = (Vec::new(), "é😀x");
    let mut out = [0u8; 4];
    loop {
        let (result, read, written, _) = encoder.encode_from_utf8(rest, &mut out, true);
        bytes.extend_from_slice(&out[..written]);
        rest = &rest[read..];
        if result == CoderResult::InputEmpty {
            break;
        }
        assert!(read > 0 || written > 0 || out.len() < 10);
        if read == 0 && written == 0 {
            // A reference longer than the buffer: give it more room.
            let mut big = [0u8; 16];
            let (_, read, written, _) = encoder.encode_from_utf8(rest, &mut big, true);
            bytes.extend_from_slice(&big[..written]);
            rest = &rest[read..];
        }
    }
    assert_eq!(bytes, b"\xE9&#128512;x");
}
