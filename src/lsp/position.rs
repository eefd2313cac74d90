//! Byte offsets ↔ LSP positions (line, UTF-16 code unit), clamped: a position past the end is the end.

use lsp_types::{Position, Range};

/// The LSP position of byte `offset` in `text` (an offset inside a character counts as its start).
pub fn position(text: &str, offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = text.get(..offset).unwrap_or("");
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count();
    let character: usize = before
        .get(line_start..)
        .unwrap_or("")
        .chars()
        .map(char::len_utf16)
        .sum();
    Position::new(to_u32(line), to_u32(character))
}

/// The LSP range of the bytes `start..end` of `text`.
pub fn range(text: &str, start: usize, end: usize) -> Range {
    Range::new(position(text, start), position(text, end.max(start)))
}

/// The byte offset of an LSP position in `text`: a line past the end is the end of the text, a
/// character past the end of its line is the end of the line, one inside a surrogate pair is the
/// start of its character.
pub fn offset(text: &str, pos: Position) -> usize {
    let mut line_start = 0usize;
    for _ in 0..pos.line {
        match text.get(line_start..).and_then(|rest| rest.find('\n')) {
            Some(i) => line_start += i + 1,
            None => return text.len(),
        }
    }
    let line = text.get(line_start..).unwrap_or("");
    let line = line.split('\n').next().unwrap_or("");
    let mut units = 0usize;
    for (i, c) in line.char_indices() {
        let next = units + c.len_utf16();
        if next > pos.character as usize {
            return line_start + i;
        }
        units = next;
    }
    line_start + line.len()
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_both_ways() {
        // `σ` is one UTF-16 unit (2 bytes), `𝔼` two units (4 bytes).
        let text = "let σ = 1\n# 𝔼x\nlet b = σ";
        let b = text.find('b').unwrap_or(0);
        assert_eq!(position(text, b), Position::new(2, 4));
        let x = text.find('x').unwrap_or(0);
        assert_eq!(position(text, x), Position::new(1, 4));
        assert_eq!(offset(text, Position::new(1, 4)), x);
        // Inside the surrogate pair: the start of `𝔼`.
        assert_eq!(offset(text, Position::new(1, 3)), x - 4);
        let eq = text.find('=').unwrap_or(0);
        assert_eq!(offset(text, Position::new(0, 6)), eq);
        // Past the end of a line, and of the text.
        assert_eq!(offset(text, Position::new(0, 99)), text.find('\n').unwrap_or(0));
        assert_eq!(offset(text, Position::new(99, 0)), text.len());
        assert_eq!(position(text, 10_000), Position::new(2, 9));
    }
}
