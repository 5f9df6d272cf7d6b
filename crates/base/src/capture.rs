//! Bounded capture of a command's output, so that one host printing without end cannot
//! exhaust the controller: the limit per stream (`--max-output`, the `clearfleet_max_output`
//! variable), the buffer that keeps a stream's head and tail within it, and what was dropped
//! between them. Shared by the SSH transport and the local runner, which both fill it as the
//! bytes arrive (never the whole stream first).

use std::collections::VecDeque;
use std::fmt;
use std::io::Write;
use std::str::FromStr;

use serde_json::Value;

use super::size::{SizeError, describe_bytes, format_size, parse_size};

/// The variable that sets the limit for a host, a group, a play or a task.
pub const MAX_OUTPUT_VAR: &str = "clearfleet_max_output";

/// How many bytes of each output stream of one command are kept (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxOutput(u64);

impl MaxOutput {
    /// 4 MiB per stream.
    pub const DEFAULT: MaxOutput = MaxOutput(4 * 1024 * 1024);

    /// `None` for 0: a command's output cannot be turned off this way.
    pub fn new(bytes: u64) -> Option<MaxOutput> {
        (bytes > 0).then_some(MaxOutput(bytes))
    }

    pub fn bytes(self) -> u64 {
        self.0
    }

    /// The limit in a variable: a size as text (`4MiB`) or a number of bytes.
    pub fn from_var(value: &Value) -> Result<MaxOutput, SizeError> {
        match value {
            Value::String(s) => s.parse(),
            Value::Number(n) => n.to_string().parse(),
            other => Err(SizeError {
                text: other.to_string(),
                reason: "neither text nor a number",
            }),
        }
    }

    /// Bytes kept from the start of a stream; the rest of the limit is kept from its end.
    fn head(self) -> usize {
        usize::try_from(self.0 / 2).unwrap_or(usize::MAX)
    }

    fn tail(self) -> usize {
        usize::try_from(self.0 - self.0 / 2).unwrap_or(usize::MAX)
    }
}

impl Default for MaxOutput {
    fn default() -> MaxOutput {
        MaxOutput::DEFAULT
    }
}

impl FromStr for MaxOutput {
    type Err = SizeError;

    fn from_str(s: &str) -> Result<MaxOutput, SizeError> {
        MaxOutput::new(parse_size(s)?).ok_or_else(|| SizeError {
            text: s.to_owned(),
            reason: "at least one byte is kept",
        })
    }
}

impl fmt::Display for MaxOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_size(self.0))
    }
}

/// Which output stream of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One stream of one command, kept within its limit: the first half of the limit as it
/// arrives, then a window over the last half; what falls out of the window is only counted.
#[derive(Debug)]
pub struct Capture {
    limit: MaxOutput,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
}

impl Capture {
    pub fn new(limit: MaxOutput) -> Capture {
        Capture {
            limit,
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
        }
    }

    /// Takes the next bytes of the stream.
    pub fn push(&mut self, data: &[u8]) {
        self.total = self
            .total
            .saturating_add(u64::try_from(data.len()).unwrap_or(u64::MAX));
        let head_max = self.limit.head();
        let room = head_max.saturating_sub(self.head.len());
        let (to_head, rest) = data.split_at(room.min(data.len()));
        if !to_head.is_empty() {
            // Grow as a Vec does, but never past the head's share.
            let need = self.head.len() + to_head.len();
            if need > self.head.capacity() {
                let want = need.max(self.head.len() * 2).min(head_max);
                self.head.reserve_exact(want - self.head.len());
            }
            self.head.extend_from_slice(to_head);
        }
        if rest.is_empty() {
            return;
        }
        let tail_max = self.limit.tail();
        if self.tail.capacity() < tail_max {
            self.tail.reserve_exact(tail_max - self.tail.len());
        }
        let rest = &rest[rest.len().saturating_sub(tail_max)..];
        let over = (self.tail.len() + rest.len()).saturating_sub(tail_max);
        self.tail.drain(..over);
        self.tail.extend(rest);
    }

    /// Forgets everything so far (sudo's prompt and what came before it are not output).
    pub fn clear(&mut self) {
        self.head.clear();
        self.tail.clear();
        self.total = 0;
    }

    /// Bytes the stream has had so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Bytes dropped between the head and the tail.
    pub fn dropped(&self) -> u64 {
        let kept = u64::try_from(self.head.len() + self.tail.len()).unwrap_or(u64::MAX);
        self.total.saturating_sub(kept)
    }

    /// The kept bytes and how many were dropped. Where bytes were dropped, a line
    /// `[... clearfleet dropped N bytes of STREAM ...]` stands between the head and the tail.
    pub fn finish(self, stream: Stream) -> (Vec<u8>, u64) {
        let dropped = self.dropped();
        let mut out = self.head;
        if dropped > 0 {
            if !out.is_empty() && !out.ends_with(b"\n") {
                out.push(b'\n');
            }
            out.extend_from_slice(dropped_line(dropped, stream).as_bytes());
        }
        let (a, b) = self.tail.as_slices();
        out.reserve_exact(a.len() + b.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b);
        (out, dropped)
    }
}

/// Where one stream of a command goes: kept within the limit, or written through as it
/// arrives, whatever its size (a file on the controller).
pub enum Sink<'w, W: Write + ?Sized> {
    Keep(Capture),
    /// The first write error stops the writing (the stream is still read to its end, and
    /// only counted) and is reported by [`Sink::finish`].
    Write {
        writer: &'w mut W,
        error: Option<std::io::Error>,
    },
}

impl<'w, W: Write + ?Sized> Sink<'w, W> {
    /// Writes to `writer` if there is one, else keeps within `limit`.
    pub fn new(limit: MaxOutput, writer: Option<&'w mut W>) -> Sink<'w, W> {
        match writer {
            Some(writer) => Sink::Write {
                writer,
                error: None,
            },
            None => Sink::Keep(Capture::new(limit)),
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        match self {
            Sink::Keep(c) => c.push(data),
            Sink::Write { writer, error } => {
                if error.is_none()
                    && let Err(e) = writer.write_all(data)
                {
                    *error = Some(e);
                }
            }
        }
    }

    /// What [`Capture::finish`] gives (nothing kept, nothing dropped for a writer), or the
    /// writer's first error.
    pub fn finish(self, stream: Stream) -> std::io::Result<(Vec<u8>, u64)> {
        match self {
            Sink::Keep(c) => Ok(c.finish(stream)),
            Sink::Write { error: Some(e), .. } => Err(e),
            Sink::Write { error: None, .. } => Ok((Vec::new(), 0)),
        }
    }
}

/// The line that marks where bytes were dropped.
pub fn dropped_line(dropped: u64, stream: Stream) -> String {
    format!(
        "[... clearfleet dropped {dropped} bytes of {} ...]\n",
        stream.as_str()
    )
}

/// What the captures of one command dropped, and under which limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Truncation {
    pub limit: MaxOutput,
    pub stdout_dropped: u64,
    pub stderr_dropped: u64,
}

impl Truncation {
    /// Whether either stream lost bytes.
    pub fn any(&self) -> bool {
        self.stdout_dropped > 0 || self.stderr_dropped > 0
    }

    /// Why a command whose output was cut fails: each cut stream with its full size and the
    /// limit, and how to raise the limit. `None` when nothing was dropped.
    pub fn message(&self) -> Option<String> {
        let parts: Vec<String> = [
            (Stream::Stdout, self.stdout_dropped),
            (Stream::Stderr, self.stderr_dropped),
        ]
        .into_iter()
        .filter(|(_, dropped)| *dropped > 0)
        .map(|(stream, dropped)| {
            format!(
                "{} was {}, more than the output limit of {} per stream: its first and last \
                 bytes are kept, {dropped} bytes between them were dropped",
                stream.as_str(),
                describe_bytes(self.limit.bytes().saturating_add(dropped)),
                self.limit,
            )
        })
        .collect();
        (!parts.is_empty()).then(|| {
            format!(
                "{}; raise the limit with --max-output SIZE or the {MAX_OUTPUT_VAR} variable",
                parts.join("; ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(n: u64) -> MaxOutput {
        MaxOutput::new(n).unwrap_or_else(|| panic!("limit {n}"))
    }

    fn captured(limit_bytes: u64, chunks: &[&[u8]]) -> (Vec<u8>, u64) {
        let mut c = Capture::new(limit(limit_bytes));
        for chunk in chunks {
            c.push(chunk);
        }
        c.finish(Stream::Stdout)
    }

    #[test]
    fn within_the_limit_everything_is_kept_exactly() {
        assert_eq!(
            captured(10, &[b"abc", b"", b"defghij"]),
            (b"abcdefghij".to_vec(), 0)
        );
        assert_eq!(captured(10, &[]), (Vec::new(), 0));
    }

    #[test]
    fn past_the_limit_head_and_tail_stay_with_the_count_between() {
        let data: Vec<u8> = (0..100u8).collect();
        let whole = captured(10, &[&data]);
        let mut expected = data[..5].to_vec();
        expected.push(b'\n');
        expected.extend_from_slice(b"[... clearfleet dropped 90 bytes of stdout ...]\n");
        expected.extend_from_slice(&data[95..]);
        assert_eq!(whole, (expected, 90));
        // Any chunking gives the same.
        for size in [1, 3, 7, 10, 11, 64] {
            let chunks: Vec<&[u8]> = data.chunks(size).collect();
            assert_eq!(captured(10, &chunks), whole, "chunks of {size}");
        }
        // A head that ends a line gets no extra newline; an odd limit keeps the extra byte
        // at the end.
        let (out, dropped) = captured(3, &[b"a\nbcdefgh"]);
        assert_eq!(dropped, 6);
        assert_eq!(
            out,
            b"a\n[... clearfleet dropped 6 bytes of stdout ...]\ngh"
        );
    }

    #[test]
    fn memory_stays_within_the_limit_whatever_goes_through() {
        let mut c = Capture::new(limit(1000));
        let chunk = [b'x'; 4096];
        for _ in 0..1000 {
            c.push(&chunk);
        }
        assert!(c.head.capacity() <= 500, "{}", c.head.capacity());
        assert!(c.tail.capacity() < 1000, "{}", c.tail.capacity());
        assert_eq!(c.total(), 4_096_000);
        assert_eq!(c.dropped(), 4_095_000);
    }

    #[test]
    fn a_writer_gets_everything_and_its_first_error_is_kept() {
        let mut file = Vec::new();
        let mut sink = Sink::new(limit(2), Some(&mut file));
        sink.push(b"more than");
        sink.push(b" the limit");
        assert_eq!(sink.finish(Stream::Stdout).ok(), Some((Vec::new(), 0)));
        assert_eq!(file, b"more than the limit");

        let mut full = [0u8; 4];
        let mut slice = &mut full[..];
        let mut sink = Sink::new(limit(2), Some(&mut slice));
        sink.push(b"abcdef");
        sink.push(b"gh");
        assert!(sink.finish(Stream::Stdout).is_err());

        let mut kept = Sink::<Vec<u8>>::new(limit(2), None);
        kept.push(b"abcd");
        assert_eq!(kept.finish(Stream::Stdout).ok().map(|(_, d)| d), Some(2));
    }

    #[test]
    fn clear_forgets_everything() {
        let mut c = Capture::new(limit(4));
        c.push(b"prompt: lots of noise");
        c.clear();
        c.push(b"ok");
        assert_eq!(c.finish(Stream::Stderr), (b"ok".to_vec(), 0));
    }

    #[test]
    fn limits_read_from_text_and_numbers() {
        assert_eq!("4MiB".parse::<MaxOutput>(), Ok(MaxOutput::DEFAULT));
        assert_eq!(MaxOutput::default().to_string(), "4MiB");
        assert_eq!(MaxOutput::from_var(&Value::from(1000)), Ok(limit(1000)));
        assert_eq!(
            MaxOutput::from_var(&Value::from("512KiB")),
            Ok(limit(512 * 1024))
        );
        assert!("0".parse::<MaxOutput>().is_err());
        assert!(MaxOutput::from_var(&Value::from(-1)).is_err());
        assert!(MaxOutput::from_var(&Value::from(true)).is_err());
        assert!(MaxOutput::from_var(&Value::from("lots")).is_err());
    }

    #[test]
    fn the_message_names_the_stream_the_size_the_limit_and_the_way_out() {
        let t = Truncation {
            limit: limit(1024),
            stdout_dropped: 0,
            stderr_dropped: 2048,
        };
        let msg = t.message().unwrap_or_default();
        assert!(
            msg.starts_with(
                "stderr was 3072 bytes (3.0 KiB), more than the output limit of 1KiB per stream"
            ),
            "{msg}"
        );
        assert!(
            msg.contains("2048 bytes between them were dropped"),
            "{msg}"
        );
        assert!(
            msg.ends_with("--max-output SIZE or the clearfleet_max_output variable"),
            "{msg}"
        );
        assert!(!msg.contains("stdout"), "{msg}");
        assert_eq!(Truncation::default().message(), None);
        assert!(!Truncation::default().any());
    }
}
