//! Unguessable values from the operating system's random source (getrandom): the markers that
//! frame a command's output, sudo's prompt and success markers, and the names of temporary
//! files. Never a clock, a process id or a counter, which another user or the command itself
//! could predict.

/// 32 hex digits (128 bits) from the OS's random source.
pub fn token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_32_hex_digits_and_differ() {
        let a = super::token().unwrap_or_default();
        let b = super::token().unwrap_or_default();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
    }
}
