//! Terminal columns: text measured as a terminal shows it (a CJK character or an emoji takes
//! two columns, a combining mark none), not by `chars().count()`, so tables line up and the
//! live view's lines never wrap.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The columns `s` takes on a terminal.
pub(crate) fn width(s: &str) -> usize {
    s.width()
}

/// `s` followed by spaces up to `columns` (as is when it is that wide or wider).
pub(crate) fn pad(s: &str, columns: usize) -> String {
    format!("{s}{}", " ".repeat(columns.saturating_sub(width(s))))
}

/// `text` cut to at most `columns` columns, with `…` when cut. A character is never split: a
/// wide one that does not fit is left out whole.
pub(crate) fn cut(text: &str, columns: usize) -> String {
    if width(text) <= columns {
        return text.to_owned();
    }
    let room = columns.saturating_sub(1);
    let mut used = 0;
    let mut s = String::new();
    for c in text.chars() {
        // Control characters count one column here, as in `width`.
        let w = c.width().unwrap_or(1);
        if used + w > room {
            break;
        }
        used += w;
        s.push(c);
    }
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(width("web01"), 5);
        assert_eq!(width("服务器-1"), 8);
        assert_eq!(width("🚀a"), 3);
        assert_eq!(pad("服务器", 8), "服务器  ");
        assert_eq!(pad("web01", 3), "web01");
    }

    #[test]
    fn cutting_counts_columns_and_never_splits_a_wide_character() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("abcdefgh", 5), "abcd…");
        // 6 columns: two CJK characters (4) and the ellipsis; a third would make 7.
        assert_eq!(cut("服务器服务器", 6), "服务…");
        assert_eq!(cut("服务器服务器", 7), "服务器…");
        for n in 1..14 {
            assert!(width(&cut("服务器-1 Start 2.0.0", n)) <= n, "{n}");
        }
    }
}
