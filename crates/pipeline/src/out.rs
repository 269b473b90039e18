//! Checks on the run folder's location, made before any data is read, so
//! that a run that cannot be written fails at once and touches nothing.

use crate::error::Error;
use std::path::Path;

/// `out` must be a folder or not exist, and its nearest existing ancestor
/// must be a folder. (Permissions are left to the write itself: a user may
/// run as root, for whom a read-only mode stops nothing.)
pub(crate) fn check(out: &Path) -> Result<(), Error> {
    if out.exists() && !out.is_dir() {
        return Err(Error::io(
            out,
            "exists and is not a folder, so it cannot be the run folder (it is left as it is); \
             choose another --out",
        ));
    }
    for ancestor in out.ancestors().skip(1) {
        if ancestor.as_os_str().is_empty() {
            break;
        }
        if ancestor.is_dir() {
            break;
        }
        if ancestor.exists() {
            return Err(Error::io(
                out,
                format!(
                    "cannot write the run folder here: {} is a file, not a folder; choose \
                     another --out",
                    ancestor.display()
                ),
            ));
        }
    }
    Ok(())
}
