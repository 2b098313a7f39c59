//! Byte offsets in the sketch turned into the 1-based lines and columns that reports show.

pub(super) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub(super) fn new(src: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            src.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines { starts }
    }

    pub(super) fn line(&self, off: usize) -> usize {
        self.starts.partition_point(|&s| s <= off).max(1)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(super) fn pos(&self, src: &str, off: usize) -> (usize, usize) {
        let line = self.line(off);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let column = src
            .get(start..off.min(src.len()))
            .map_or(1, |s| s.chars().count() + 1);
        (line, column)
    }
}
