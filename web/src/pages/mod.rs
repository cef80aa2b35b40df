//! The app's pages: the editor at `/`, a shared run at `/r/{id}`, and not found.
pub mod editor;
pub mod not_found;
pub mod share;
