//! The binary's commands that are more than a call into the library: the argument definitions,
//! `query`'s printing, `audience`'s CSV, `journal inspect`. Used only by `main.rs`.

pub mod args;
pub mod audience;
pub mod journal;
pub mod query;

/// `s` cut to at most `width` characters, marking the cut with `~`.
pub fn clip(s: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if s.chars().count() <= width {
        return s.into();
    }
    let mut cut: String = s.chars().take(width - 1).collect();
    cut.push('~');
    cut.into()
}
