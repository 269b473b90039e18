//! A damaged statistical file (truncated, overwritten, not the format) is
//! an `IngestError` naming the data file and the fix, never a panic and
//! never fewer rows without a word.

use crate::{schema, source_file, statfile};
use cohortflow_ingest::{Format, ingest, read_table};

/// Every damage of `name` is an error that names the file and a fix.
fn refuses(name: &str, format: Format, damaged: &[(&str, Vec<u8>)]) {
    let dir = tempfile::tempdir().unwrap();
    for (what, bytes) in damaged {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let e = read_table(&path, format)
            .err()
            .unwrap_or_else(|| panic!("{name} {what}: read without an error"));
        assert_eq!(e.file, path, "{name} {what}");
        assert!(!e.fix.is_empty(), "{name} {what}: a fix");
        assert!(
            e.fix.contains("again") || e.fix.contains("export"),
            "{name} {what}: {}",
            e.fix
        );
    }
}

fn damages(name: &str) -> Vec<(&'static str, Vec<u8>)> {
    let good = std::fs::read(statfile(name)).unwrap();
    let n = good.len();
    // The header: a value overwritten in the middle of the data cannot be
    // told (none of these formats has checksums).
    let mut overwritten = good.clone();
    for b in &mut overwritten[..64] {
        *b = 0xff;
    }
    vec![
        ("empty", Vec::new()),
        ("first 100 bytes", good[..100.min(n)].to_vec()),
        ("first half", good[..n / 2].to_vec()),
        ("last byte missing", good[..n - 1].to_vec()),
        ("header overwritten", overwritten),
        ("text file", b"id,sex\n1,M\n".to_vec()),
    ]
}

#[test]
fn damaged_spss_files_are_errors() {
    refuses("lung.sav", Format::Spss, &damages("lung.sav"));
    refuses("lung.zsav", Format::Spss, &damages("lung.zsav"));
}

#[test]
fn damaged_stata_files_are_errors() {
    refuses("melanoma.dta", Format::Stata, &damages("melanoma.dta"));
    refuses(
        "melanoma_v13.dta",
        Format::Stata,
        &damages("melanoma_v13.dta"),
    );
}

#[test]
fn damaged_sas_files_are_errors() {
    refuses("iris.sas7bdat", Format::Sas, &damages("iris.sas7bdat"));
    refuses("mgus2.xpt", Format::Sas, &damages("mgus2.xpt"));
    // A transport file cut inside an observation, at a record boundary.
    let good = std::fs::read(statfile("mgus2.xpt")).unwrap();
    let cut = (good.len() / 2) / 80 * 80;
    refuses(
        "mgus2.xpt",
        Format::Sas,
        &[("cut mid-data", good[..cut].to_vec())],
    );
}

/// Through a source: the error names the data file, not the reader's
/// internals only, and ingest does not panic.
#[test]
fn a_damaged_file_stops_the_run_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(statfile("melanoma.dta")).unwrap();
    std::fs::write(dir.path().join("m.dta"), &good[..good.len() / 3]).unwrap();
    let source = source_file(
        dir.path(),
        "[source]\nname = \"m\"\ncentre = \"M\"\nformat = \"stata\"\npath = \"m.dta\"\n\
         [source.columns]\nage = \"age\"\n",
    );
    let s = schema("name = \"t\"\n[[column]]\nname = \"age\"\ntype = \"integer\"\n");
    let e = ingest(&source, &s).unwrap_err();
    assert_eq!(e.file, dir.path().join("m.dta"));
    assert!(e.message.contains("Stata"), "{e}");
}

/// Bytes overwritten at random places (a seeded generator, 150 damages per
/// file): every read ends, in a table or in an error naming the file; no
/// panic escapes and no read hangs.
#[test]
fn random_damage_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (name, format) in [
        ("lung.sav", Format::Spss),
        ("lung.zsav", Format::Spss),
        ("melanoma.dta", Format::Stata),
        ("melanoma_v13.dta", Format::Stata),
        ("mgus2.xpt", Format::Sas),
        ("mgus2_v8.xpt", Format::Sas),
        ("lung.sas7bdat", Format::Sas),
        ("iris.sas7bdat", Format::Sas),
    ] {
        let good = std::fs::read(statfile(name)).unwrap();
        let path = dir.path().join(name);
        for _ in 0..150 {
            let mut bytes = good.clone();
            // Damage the first 4 KiB (the dictionary) more often than the rest.
            let span = if next() % 2 == 0 {
                4096.min(bytes.len())
            } else {
                bytes.len()
            };
            for _ in 0..1 + next() % 8 {
                let at = (next() as usize) % span;
                bytes[at] = next() as u8;
            }
            std::fs::write(&path, &bytes).unwrap();
            if let Err(e) = read_table(&path, format) {
                assert_eq!(e.file, path, "{name}");
            }
        }
    }
}
