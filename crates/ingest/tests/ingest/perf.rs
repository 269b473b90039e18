//! Throughput checks, ignored by default (they write a large file). Run with
//! `cargo test --release --workspace --test ingest -- --ignored perf
//! --nocapture` and `COHORTFLOW_PERF_ROWS` to change the size (default
//! 1,000,000 rows).

use crate::common::source_in;
use cohortflow_core::schema::Schema;
use cohortflow_ingest::ingest;
use std::fmt::Write as _;
use std::time::Instant;

#[test]
#[ignore]
fn perf_one_million_rows_by_16_columns() {
    let n: usize = std::env::var("COHORTFLOW_PERF_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let kinds = [
        ("string", ""),
        ("category", "levels = [\"M\", \"F\"]"),
        ("integer", ""),
        ("float", "unit = \"mm\""),
        ("date", ""),
        ("boolean", ""),
        (
            "category",
            "levels = [\"stomach\", \"small bowel\", \"other\"]",
        ),
        ("float", ""),
    ];
    let mut schema = String::from("name = \"perf\"\n");
    let mut columns = String::from("[source.columns]\n");
    let mut header = Vec::new();
    for i in 0..16 {
        let (kind, extra) = kinds[i % kinds.len()];
        let _ = writeln!(
            schema,
            "[[column]]\nname = \"c{i}\"\ntype = \"{kind}\"\n{extra}"
        );
        match (i, kind) {
            (_, "category") if extra.contains("\"M\"") => {
                let _ = writeln!(
                    columns,
                    "c{i} = {{ column = \"h{i}\", values = {{ \"М\" = \"M\", \"Ж\" = \"F\" }} }}"
                );
            }
            (_, "float") if extra.contains("mm") => {
                let _ = writeln!(columns, "c{i} = {{ column = \"h{i}\", unit = \"cm\" }}");
            }
            _ => {
                let _ = writeln!(columns, "c{i} = \"h{i}\"");
            }
        }
        header.push(format!("h{i}"));
    }
    let schema: Schema = toml::from_str(&schema).unwrap();
    let mut data = header.join(";");
    data.push('\n');
    let sites = ["stomach", "small bowel", "other"];
    for r in 0..n {
        for i in 0..16 {
            if i > 0 {
                data.push(';');
            }
            let _ = match i % 8 {
                0 => write!(data, "P{r}"),
                1 => write!(data, "{}", if r % 2 == 0 { "М" } else { "Ж" }),
                2 => write!(data, "{}", 20 + r % 60),
                3 => write!(data, "{},{}", r % 20, r % 10),
                4 => write!(
                    data,
                    "{:02}.{:02}.{}",
                    1 + r % 28,
                    1 + r % 12,
                    2000 + r % 20
                ),
                5 => write!(data, "{}", if r % 3 == 0 { "true" } else { "false" }),
                6 => write!(data, "{}", sites[r % 3]),
                _ => write!(data, "{},5", r % 1000),
            };
        }
        data.push('\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let src = format!(
        "name = \"perf\"\ncentre = \"P\"\nformat = \"csv\"\ndate_formats = [\"%d.%m.%Y\"]\n\
         [source.csv]\nseparator = \";\"\ndecimal_comma = true\n{columns}"
    );
    let source = source_in(dir.path(), "data.csv", data.as_bytes(), &src);
    drop(data);
    let t = Instant::now();
    let out = ingest(&source, &schema).unwrap();
    let elapsed = t.elapsed();
    eprintln!("ingested {n} rows x 16 columns in {elapsed:.2?}");
    assert_eq!(out.frame.height(), n);
    assert_eq!(out.frame.width(), 18);
}

/// A registry export of the mGIST shape (`pipelines/sources/center_a.toml`:
/// 16 columns, `;`, decimal comma, dd.mm.yyyy dates, value-mapped codes in
/// Russian, a unique record number), `COHORTFLOW_PERF_ROWS` rows (default
/// 1,000,000), in windows-1251 and in UTF-8. Written to a file row by row,
/// so that the test's own memory is the ingest's (peak RSS with
/// `/usr/bin/time -v`). Run with `cargo test --release --workspace --test
/// ingest -- --ignored perf_mgist --nocapture`.
#[test]
#[ignore]
fn perf_mgist_shaped_export() {
    use std::io::Write as _;
    let n: usize = std::env::var("COHORTFLOW_PERF_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let schema: Schema = toml::from_str(
        &std::fs::read_to_string(repo.join("pipelines/schemas/mgist.toml")).unwrap(),
    )
    .unwrap();
    let toml_text = std::fs::read_to_string(repo.join("pipelines/sources/center_a.toml")).unwrap();
    let encodings: Vec<String> = std::env::var("COHORTFLOW_PERF_ENCODINGS")
        .unwrap_or_else(|_| "windows-1251,utf-8".into())
        .split(',')
        .map(str::to_string)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    for encoding in encodings {
        let path = dir.path().join("export.csv");
        let mut out =
            std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
        let mut line = String::new();
        let mut put = |line: &str| {
            if encoding == "utf-8" {
                out.write_all(line.as_bytes()).unwrap();
            } else {
                out.write_all(&encoding_rs::WINDOWS_1251.encode(line).0)
                    .unwrap();
            }
        };
        put(
            "№ истории;СНИЛС;Пол;Дата рождения;Дата диагноза;Локализация первичной опухоли;\
             Мутация;Размер опухоли, см;Метастазы;Линия иматиниба;Начало иматиниба;Лучший ответ;\
             Дата прогрессирования;Дата операции;Дата смерти;Дата последнего контакта\r\n",
        );
        let mut x: u64 = 20260301;
        let mut next = move |m: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        fn date(line: &mut String, next: &mut impl FnMut(u64) -> u64, y0: u64, span: u64) {
            let (d, m, y) = (1 + next(28), 1 + next(12), y0 + next(span));
            let _ = write!(line, "{d:02}.{m:02}.{y}");
        }
        let sites = ["желудок", "тонкая кишка", "прямая кишка", "другое"];
        let mutations = ["KIT 11", "KIT 9", "PDGFRA", "дикий тип", "н/д"];
        let mets = ["печень", "брюшина", "печень+брюшина", "лёгкие", "кости"];
        let responses = ["ЧО", "СЗ", "ПБ"];
        for r in 0..n {
            line.clear();
            let _ = write!(line, "А-{}-{r:08};", 2000 + r % 22);
            let _ = write!(
                line,
                "{:03}-{:03}-{:03} {:02};",
                next(1000),
                next(1000),
                next(1000),
                next(100)
            );
            line.push_str(if next(2) == 0 { "М;" } else { "Ж;" });
            date(&mut line, &mut next, 1930, 50);
            line.push(';');
            date(&mut line, &mut next, 2000, 20);
            line.push(';');
            line.push_str(sites[next(4) as usize]);
            line.push(';');
            line.push_str(mutations[next(5) as usize]);
            let _ = write!(line, ";{},{};", 1 + next(30), next(10));
            line.push_str(mets[next(5) as usize]);
            let _ = write!(line, ";{};", 1 + next(3));
            date(&mut line, &mut next, 2000, 20);
            line.push(';');
            line.push_str(responses[next(3) as usize]);
            for _ in 0..3 {
                line.push(';');
                if next(2) == 0 {
                    date(&mut line, &mut next, 2005, 15);
                }
            }
            line.push(';');
            date(&mut line, &mut next, 2010, 12);
            line.push_str("\r\n");
            put(&line);
        }
        out.flush().unwrap();
        drop(out);
        let bytes = std::fs::metadata(&path).unwrap().len();
        let text = toml_text
            .replace("../../fixtures/mgist/center_a.csv", "export.csv")
            .replace(
                "encoding = \"windows-1251\"",
                &format!("encoding = \"{encoding}\""),
            );
        let source = crate::common::source_file(dir.path(), &text);
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let out = ingest(&source, &schema).unwrap();
        let (elapsed, cpu) = (t.elapsed(), cpu_seconds() - cpu);
        eprintln!(
            "mgist-shaped {encoding}: {n} rows x 16 columns ({:.1} MB) ingested in {elapsed:.3?} \
             ({:.3} s per 1M rows; CPU time {cpu:.2} s), {} cores",
            bytes as f64 / 1e6,
            elapsed.as_secs_f64() / (n as f64 / 1e6),
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
        assert_eq!(out.frame.height() + out.rejects.len(), n);
        assert_eq!(out.frame.width(), 18);
        drop(out);
        std::fs::remove_file(&path).unwrap();
    }
}

/// CPU time of this process so far (user + system, all threads), from
/// /proc/self/stat (Linux; 0 elsewhere). The machine may be shared: CPU
/// time tells the work, wall time the wait.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some(after) = stat.rsplit_once(')').map(|(_, a)| a) else {
        return 0.0;
    };
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the line (utime, stime) are 12 and 13 after ")".
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
    });
    ticks / 100.0
}
