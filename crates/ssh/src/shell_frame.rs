//! The wire format of the persistent shell (see `persistent_shell.rs`): the driver script the
//! login shell runs, how one command is written to its stdin, and the incremental parser that
//! cuts each output stream at one command's markers.
//!
//! Per command the driver reads a header line `<lines> <nonce> <mode>` and then exactly
//! `<lines>` lines (the command, newline-terminated), prints `<nonce> begin\n` on stdout and on
//! stderr, runs the command with `( eval "$cmd" ) </dev/null` (a subshell: its `cd`, `export`,
//! `exit`, `exec`, traps and closed fds end with it; stdin is `/dev/null`, so it can never read
//! the driver's script), then prints `<nonce> end\n` on stderr and `<nonce> end <rc>\n` on
//! stdout. Mode `x` is for a command that is provably one simple command, `sh -c '<quoted>'`
//! as the modules send (see [`is_one_shell_call`]): the subshell `exec`s it (`eval "exec
//! $cmd"`), which saves a fork per command (bash does not exec the last command of an `eval`
//! by itself); mode `-` evaluates the command as it is.
//! The command is never parsed by the driver itself: a syntax error only fails that `eval`.
//! The nonce is random per command and is unset before the `eval`, so a command cannot print
//! it by accident.

use memchr::memmem;

/// Longest command sent through the driver; longer ones get their own channel (the driver
/// reads its stdin a byte at a time, and builds the command by appending lines).
pub(crate) const MAX_COMMAND_LEN: usize = 64 * 1024;

/// The script the login shell runs as the driver (`$SHELL -c <script>`, as any command).
/// It first prints `<tag> <pid>` on stderr: its pid is its process group (sshd starts each
/// session with `setsid`), which is what a timeout or cancellation kills.
pub(crate) fn driver_script(tag: &str) -> String {
    format!(
        "printf '%s %s\\n' {tag} \"$$\" >&2\n\
         while IFS=' ' read -r cf_n cf_k cf_m; do cf_c=\n\
         while [ \"$cf_n\" -gt 0 ]; do IFS= read -r cf_l || exit 0; cf_c=\"$cf_c$cf_l\n\
         \"; cf_n=$((cf_n - 1)); done\n\
         [ \"$cf_m\" = x ] && cf_c=\"exec $cf_c\"\n\
         printf '%s begin\\n' \"$cf_k\"; printf '%s begin\\n' \"$cf_k\" >&2\n\
         ( unset cf_n cf_k cf_l cf_m; eval \"$cf_c\" ) </dev/null\n\
         cf_r=$?\n\
         printf '%s end\\n' \"$cf_k\" >&2; printf '%s end %d\\n' \"$cf_k\" \"$cf_r\"\n\
         done\n"
    )
}

/// The bytes that make the driver run `command` under `nonce`; `None` when the command
/// cannot go through the driver (a NUL byte, which a shell variable cannot hold, or longer
/// than [`MAX_COMMAND_LEN`]).
pub(crate) fn frame_command(nonce: &str, command: &str) -> Option<Vec<u8>> {
    if command.len() > MAX_COMMAND_LEN || command.contains('\0') {
        return None;
    }
    let mut body = command.as_bytes().to_vec();
    if body.last() != Some(&b'\n') {
        body.push(b'\n');
    }
    let lines = memchr::memchr_iter(b'\n', &body).count();
    let mode = if is_one_shell_call(command) { 'x' } else { '-' };
    let mut out = format!("{lines} {nonce} {mode}\n").into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

/// Whether `command` is exactly `<shell> -c <word>`, `<shell>` one of `sh`, `/bin/sh`,
/// `bash`, `/bin/bash`, and `<word>` one word as `clearfleet_base::shell::quote` writes it (only
/// `@%+=:,./-_` and alphanumerics, or single-quoted with `'"'"'` for a quote): one simple
/// command, so `exec <command>` runs the same program with the same arguments.
pub(crate) fn is_one_shell_call(command: &str) -> bool {
    let Some(word) = ["sh", "/bin/sh", "bash", "/bin/bash"]
        .iter()
        .find_map(|p| command.strip_prefix(p)?.strip_prefix(" -c "))
    else {
        return false;
    };
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        return true;
    }
    let Some(mut rest) = word.strip_prefix('\'') else {
        return false;
    };
    loop {
        match rest.find('\'') {
            None => return false,
            Some(i) => {
                let after = &rest[i + 1..];
                if after.is_empty() {
                    return true;
                }
                match after.strip_prefix("\"'\"'") {
                    Some(more) => rest = more,
                    None => return false,
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Bytes before `<nonce> begin\n` are not the command's (another process's leftovers).
    SeekBegin,
    /// The command's output, up to `<nonce> end`.
    Body,
    /// The rest of the end line (` <rc>` on stdout, nothing on stderr).
    Trailer,
    Done,
}

/// Cuts one output stream (stdout or stderr of the driver) at one command's markers.
///
/// Only the last `marker length - 1` bytes are held back between chunks (a marker split
/// across two chunks), so each byte is searched about once.
#[derive(Debug)]
pub(crate) struct StreamCut {
    begin: Vec<u8>,
    end: Vec<u8>,
    phase: Phase,
    /// Held back: a possible marker start (SeekBegin, Body) or the trailer so far.
    pending: Vec<u8>,
    trailer: Vec<u8>,
    /// Bytes that were not the command's output (before the begin marker, after the end line).
    pub(crate) stray: usize,
    began: bool,
}

impl StreamCut {
    pub(crate) fn new(nonce: &str) -> StreamCut {
        StreamCut {
            begin: format!("{nonce} begin\n").into_bytes(),
            end: format!("{nonce} end").into_bytes(),
            phase: Phase::SeekBegin,
            pending: Vec::new(),
            trailer: Vec::new(),
            stray: 0,
            began: false,
        }
    }

    /// Feeds the next bytes of the stream; appends the command's output among them to `out`.
    pub(crate) fn feed(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let mut buf = std::mem::take(&mut self.pending);
        buf.extend_from_slice(data);
        let mut rest: &[u8] = &buf;
        loop {
            match self.phase {
                Phase::SeekBegin => match memmem::find(rest, &self.begin) {
                    Some(i) => {
                        self.stray += i;
                        rest = &rest[i + self.begin.len()..];
                        self.phase = Phase::Body;
                        self.began = true;
                    }
                    None => {
                        let keep = rest.len().min(self.begin.len() - 1);
                        self.stray += rest.len() - keep;
                        self.pending = rest[rest.len() - keep..].to_vec();
                        return;
                    }
                },
                Phase::Body => match memmem::find(rest, &self.end) {
                    Some(i) => {
                        out.extend_from_slice(&rest[..i]);
                        rest = &rest[i + self.end.len()..];
                        self.phase = Phase::Trailer;
                    }
                    None => {
                        let keep = rest.len().min(self.end.len() - 1);
                        out.extend_from_slice(&rest[..rest.len() - keep]);
                        self.pending = rest[rest.len() - keep..].to_vec();
                        return;
                    }
                },
                Phase::Trailer => match memchr::memchr(b'\n', rest) {
                    Some(i) => {
                        self.trailer.extend_from_slice(&rest[..i]);
                        rest = &rest[i + 1..];
                        self.phase = Phase::Done;
                    }
                    None => {
                        self.trailer.extend_from_slice(rest);
                        if self.trailer.len() > 64 {
                            // Not the driver's end line after all; cannot happen with a
                            // random nonce. Stop here rather than grow.
                            self.phase = Phase::Done;
                        }
                        return;
                    }
                },
                Phase::Done => {
                    self.stray += rest.len();
                    return;
                }
            }
        }
    }

    /// The stream ended: what was held back belongs to the command's output if it had begun.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        let pending = std::mem::take(&mut self.pending);
        match self.phase {
            Phase::Body => out.extend_from_slice(&pending),
            Phase::SeekBegin => self.stray += pending.len(),
            Phase::Trailer | Phase::Done => {}
        }
    }

    /// The end line was read.
    pub(crate) fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The begin marker was seen (the command was started).
    pub(crate) fn began(&self) -> bool {
        self.began
    }

    /// What followed `<nonce> end` on its line, without the leading space.
    pub(crate) fn trailer(&self) -> &[u8] {
        self.trailer.strip_prefix(b" ").unwrap_or(&self.trailer)
    }
}

/// The exit code in the stdout trailer.
pub(crate) fn parse_rc(trailer: &[u8]) -> Option<u32> {
    std::str::from_utf8(trailer).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: &str = "0123456789abcdef0123456789abcdef";

    fn cut_all(chunks: &[&[u8]]) -> (Vec<u8>, StreamCut) {
        let mut c = StreamCut::new(N);
        let mut out = Vec::new();
        for chunk in chunks {
            c.feed(chunk, &mut out);
        }
        (out, c)
    }

    fn stream(body: &[u8], trailer: &str) -> Vec<u8> {
        let mut s = format!("{N} begin\n").into_bytes();
        s.extend_from_slice(body);
        s.extend_from_slice(format!("{N} end{trailer}\n").as_bytes());
        s
    }

    #[test]
    fn output_between_the_markers_is_kept_exactly() {
        let s = stream(b"hello\n", " 3");
        let (out, c) = cut_all(&[&s]);
        assert_eq!(out, b"hello\n");
        assert!(c.done() && c.began());
        assert_eq!(parse_rc(c.trailer()), Some(3));
        assert_eq!(c.stray, 0);
    }

    #[test]
    fn no_trailing_newline_empty_and_binary_output() {
        let (out, c) = cut_all(&[&stream(b"no newline", " 0")]);
        assert_eq!(out, b"no newline");
        assert_eq!(parse_rc(c.trailer()), Some(0));

        let (out, c) = cut_all(&[&stream(b"", "")]);
        assert!(out.is_empty());
        assert!(c.done());
        assert_eq!(c.trailer(), b"");

        let binary: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let (out, c) = cut_all(&[&stream(&binary, " 1")]);
        assert_eq!(out, binary);
        assert_eq!(parse_rc(c.trailer()), Some(1));
    }

    #[test]
    fn markers_split_across_chunks_at_every_position() {
        let s = stream(b"abc\0def\nlast", " 42");
        for i in 0..=s.len() {
            for j in i..=s.len() {
                let (out, c) = cut_all(&[&s[..i], &s[i..j], &s[j..]]);
                assert_eq!(out, b"abc\0def\nlast", "split at {i},{j}");
                assert!(c.done());
                assert_eq!(parse_rc(c.trailer()), Some(42));
            }
        }
        // One byte at a time.
        let mut c = StreamCut::new(N);
        let mut out = Vec::new();
        for b in &s {
            c.feed(std::slice::from_ref(b), &mut out);
        }
        assert_eq!(out, b"abc\0def\nlast");
        assert!(c.done());
    }

    #[test]
    fn leftovers_before_begin_and_after_end_are_stray() {
        let mut s = b"late output of an earlier command\n".to_vec();
        s.extend_from_slice(&stream(b"mine", " 0"));
        s.extend_from_slice(b"more");
        let (out, c) = cut_all(&[&s]);
        assert_eq!(out, b"mine");
        assert_eq!(c.stray, 34 + 4);
    }

    #[test]
    fn a_lookalike_of_another_nonce_is_output() {
        let other = "ffffffffffffffffffffffffffffffff";
        let body = format!("{other} end 0\n{N} en");
        let (out, c) = cut_all(&[&stream(body.as_bytes(), " 0")]);
        assert_eq!(out, body.as_bytes());
        assert!(c.done());
    }

    #[test]
    fn a_stream_that_ends_early_keeps_what_it_had() {
        let mut c = StreamCut::new(N);
        let mut out = Vec::new();
        c.feed(format!("{N} begin\npartial {N} e").as_bytes(), &mut out);
        c.finish(&mut out);
        assert_eq!(out, format!("partial {N} e").as_bytes());
        assert!(!c.done());
        assert!(c.began());

        let mut c = StreamCut::new(N);
        c.feed(b"noise", &mut out);
        c.finish(&mut out);
        assert!(!c.began());
        assert_eq!(c.stray, 5);
    }

    #[test]
    fn frames_count_lines_and_refuse_nul_and_huge_commands() {
        assert_eq!(
            frame_command(N, "echo hi").expect("frame"),
            format!("1 {N} -\necho hi\n").into_bytes()
        );
        assert_eq!(
            frame_command(N, "a\nb\n").expect("frame"),
            format!("2 {N} -\na\nb\n").into_bytes()
        );
        assert_eq!(
            frame_command(N, "").expect("frame"),
            format!("1 {N} -\n\n").into_bytes()
        );
        assert_eq!(
            frame_command(N, "/bin/sh -c 'exec echo a\nb\n'").expect("frame"),
            format!("3 {N} x\n/bin/sh -c 'exec echo a\nb\n'\n").into_bytes()
        );
        assert!(frame_command(N, "a\0b").is_none());
        assert!(frame_command(N, &"x".repeat(MAX_COMMAND_LEN + 1)).is_none());
    }

    #[test]
    fn driver_script_prints_its_tag_and_pid_first() {
        let s = driver_script("cf-drv-abc");
        assert!(
            s.starts_with("printf '%s %s\\n' cf-drv-abc \"$$\" >&2\n"),
            "{s}"
        );
        assert!(s.contains("( unset cf_n cf_k cf_l cf_m; eval \"$cf_c\" ) </dev/null"));
    }

    #[test]
    fn only_one_quoted_shell_call_is_execed() {
        use clearfleet_base::shell::quote;
        for script in [
            "exec echo task-1\n",
            "it's \"x\" $HOME\n'\n",
            "true",
            "",
            "'",
        ] {
            for sh in ["sh", "/bin/sh", "bash", "/bin/bash"] {
                let c = format!("{sh} -c {}", quote(script));
                assert!(is_one_shell_call(&c), "{c}");
            }
        }
        for c in [
            "/bin/sh -c 'a'; rm -rf x",
            "/bin/sh -c 'a' 'b'",
            "/bin/sh -c 'a'\"'\"",
            "/bin/sh -c 'a'\"'\"'",
            "/bin/sh -c 'abc",
            "/bin/sh -c 'a'\n",
            "/bin/sh -c a;b",
            "/bin/sh -c $(x)",
            "/bin/sh -c ",
            "X=1 /bin/sh -c 'a'",
            "cd -c 'a'",
            "/bin/shx -c 'a'",
            "/bin/sh -x 'a'",
            "sudo -S -p 'x' -u root -H -- sh -c 'echo a'",
        ] {
            assert!(!is_one_shell_call(c), "{c}");
        }
    }

    #[test]
    fn parse_rc_rejects_garbage() {
        assert_eq!(parse_rc(b"255"), Some(255));
        assert_eq!(parse_rc(b"x"), None);
        assert_eq!(parse_rc(b""), None);
    }
}
