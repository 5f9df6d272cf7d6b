//! A minimal ustar archive writer: several files go to a host in one command's stdin, unpacked
//! there by `tar -xf -` (GNU, BSD and busybox tar alike), so a recursive `copy` makes one
//! round trip however many files it sends. Members are named by number (`0`, `1`, ...): no path
//! length limit, no name a host could misread; the apply script moves each to its place.

/// Why an archive cannot be made.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TarError {
    /// ustar's size field holds 11 octal digits (8 GiB).
    #[error("a file of {0} bytes is too large to send in one archive")]
    TooLarge(u64),
}

/// Appends one regular file named `name` (ASCII, under 100 bytes) with `data`.
pub fn append(out: &mut Vec<u8>, name: &str, data: &[u8]) -> Result<(), TarError> {
    let size = data.len() as u64;
    if size >= 0o77777777777 {
        return Err(TarError::TooLarge(size));
    }
    let mut h = [0u8; 512];
    let put = |h: &mut [u8; 512], at: usize, bytes: &[u8]| {
        h[at..at + bytes.len()].copy_from_slice(bytes);
    };
    put(&mut h, 0, &name.as_bytes()[..name.len().min(99)]);
    put(&mut h, 100, b"0000600\0");
    put(&mut h, 108, b"0000000\0");
    put(&mut h, 116, b"0000000\0");
    put(&mut h, 124, format!("{size:011o}\0").as_bytes());
    put(&mut h, 136, b"00000000000\0");
    put(&mut h, 148, b"        ");
    h[156] = b'0';
    put(&mut h, 257, b"ustar\x0000");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    let pad = (512 - data.len() % 512) % 512;
    out.extend(std::iter::repeat_n(0u8, pad));
    Ok(())
}

/// Ends an archive (two zero blocks).
pub fn finish(out: &mut Vec<u8>) {
    out.extend(std::iter::repeat_n(0u8, 1024));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_padded_blocks_with_a_valid_checksum() {
        let mut t = Vec::new();
        assert_eq!(append(&mut t, "0", b"hello"), Ok(()));
        finish(&mut t);
        assert_eq!(t.len(), 512 + 512 + 1024);
        assert_eq!(&t[512..517], b"hello");
        let mut h = t[..512].to_vec();
        let stored = String::from_utf8_lossy(&h[148..154]).into_owned();
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        assert_eq!(u32::from_str_radix(&stored, 8), Ok(sum));
        assert_eq!(&t[124..135], b"00000000005");
    }

    #[test]
    fn unpacks_with_the_system_tar() {
        let dir = std::env::temp_dir().join(format!("cf-tar-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let mut t = Vec::new();
        let big = vec![7u8; 1500];
        assert!(append(&mut t, "0", b"a\n").is_ok() && append(&mut t, "1", &big).is_ok());
        finish(&mut t);
        let archive = dir.join("x.tar");
        assert!(std::fs::write(&archive, &t).is_ok());
        let ok = std::process::Command::new("tar")
            .arg("-xf")
            .arg(&archive)
            .arg("-C")
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok);
        assert_eq!(std::fs::read(dir.join("0")).ok(), Some(b"a\n".to_vec()));
        assert_eq!(std::fs::read(dir.join("1")).ok(), Some(big));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
