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

/// `len` characters drawn uniformly from `pool` with the OS's random source (generated
/// passwords); empty when `pool` is.
pub fn chars_from(pool: &[char], len: usize) -> Result<String, getrandom::Error> {
    let n = pool.len() as u64;
    if n == 0 {
        return Ok(String::new());
    }
    // Rejection sampling over u64 draws: no modulo bias.
    let zone = u64::MAX - (u64::MAX % n);
    let mut out = String::with_capacity(len);
    while out.chars().count() < len {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b)?;
        let r = u64::from_le_bytes(b);
        if r < zone
            && let Some(c) = usize::try_from(r % n).ok().and_then(|i| pool.get(i))
        {
            out.push(*c);
        }
    }
    Ok(out)
}

/// Shuffles `items` in place (Fisher-Yates over the OS's random source): a play's
/// `order: shuffle`. Without random bytes the order is left as it is.
pub fn shuffle<T>(items: &mut [T]) -> Result<(), getrandom::Error> {
    for i in (1..items.len()).rev() {
        let n = i as u64 + 1;
        let zone = u64::MAX - (u64::MAX % n);
        let j = loop {
            let mut b = [0u8; 8];
            getrandom::fill(&mut b)?;
            let r = u64::from_le_bytes(b);
            if r < zone {
                break (r % n) as usize;
            }
        };
        items.swap(i, j);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn shuffle_keeps_every_item() {
        let mut v: Vec<u32> = (0..50).collect();
        super::shuffle(&mut v).unwrap_or_default();
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<u32>>());
        assert_ne!(v, sorted, "50 items shuffled back into order");
    }

    #[test]
    fn tokens_are_32_hex_digits_and_differ() {
        let a = super::token().unwrap_or_default();
        let b = super::token().unwrap_or_default();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn chars_come_from_the_pool() {
        let s = super::chars_from(&['a', 'b', 'c'], 40).unwrap_or_default();
        assert_eq!(s.chars().count(), 40);
        assert!(s.chars().all(|c| "abc".contains(c)), "{s}");
        assert_eq!(super::chars_from(&[], 5).unwrap_or_default(), "");
    }
}
