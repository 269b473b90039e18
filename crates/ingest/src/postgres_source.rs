//! PostgreSQL through the sync `postgres` client (rust-postgres): a table or
//! a query, read in a declared order, each value turned into a raw cell so
//! that the same converter (codes, units, levels, rejects, ledger) applies.
//!
//! The rows are streamed: `query_raw` hands them over one by one while the
//! client reads the server's reply (its channel holds one batch of messages,
//! so the reader never holds the result). Everything runs in one read-only
//! `REPEATABLE READ` transaction: the statement that describes the columns
//! and the one that reads the rows see the same snapshot, and ingest cannot
//! write to the registry's database.
//!
//! A row's line is its 1-based position in `order_by` order. Two
//! neighbouring rows with the same `order_by` values stop the read: their
//! positions could swap from one run to the next, and a row's line would
//! then name another patient.
//!
//! The connection string comes from an environment variable or the service
//! file, never from the source file; messages and the manifest never show
//! its password. The client connects without TLS (no TLS crate is built):
//! `sslmode=prefer`, the default, falls back to a plain connection, and
//! `sslmode=require` fails with a message saying so.

use crate::cell::{CellIssue, RawCell};
use crate::config::{PostgresConfig, Source, ident, table_name};
use crate::converter::Converter;
use crate::error::IngestError;
use chrono::NaiveDate;
use postgres::config::Host;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{FromSql, Kind, Type};
use postgres::{Config, IsolationLevel, NoTls};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// What a database source read, for the run's manifest (there is no data
/// file to hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DatabaseRead {
    /// `postgres`.
    pub database: String,
    /// Where the connection came from: `environment variable MGIST_PG` or
    /// `service mgist`.
    pub connection_from: String,
    /// The connection without its password: host, port, database, user.
    pub connection: String,
    /// The statement that read the rows.
    pub query: String,
    /// Rows read (kept, rejected and blank).
    pub rows: u64,
    /// SHA-256 of the rows read: each column's name and type, then every
    /// value in its binary wire form (length and bytes; NULL as length -1),
    /// row by row in `order_by` order.
    pub sha256: String,
}

/// One value of a row as the server sent it (binary format), or NULL.
struct Wire<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for Wire<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Wire(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Wire(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// How a column's values become raw cells.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Decode {
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// `numeric`, selected as `::text` (the server writes it exactly).
    Numeric,
    Bool,
    /// text, varchar, char(n), name and enum labels.
    Text,
    Date,
    /// `timestamp` (without time zone): its date, whatever the time of day,
    /// as for a spreadsheet's date-time cell.
    Timestamp,
}

fn decode_of(ty: &Type) -> Option<Decode> {
    Some(match *ty {
        Type::INT2 => Decode::Int2,
        Type::INT4 => Decode::Int4,
        Type::INT8 => Decode::Int8,
        Type::FLOAT4 => Decode::Float4,
        Type::FLOAT8 => Decode::Float8,
        Type::NUMERIC => Decode::Numeric,
        Type::BOOL => Decode::Bool,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Decode::Text,
        Type::DATE => Decode::Date,
        Type::TIMESTAMP => Decode::Timestamp,
        _ if matches!(ty.kind(), Kind::Enum(_)) => Decode::Text,
        _ => return None,
    })
}

/// 2000-01-01, PostgreSQL's epoch for dates and timestamps.
fn pg_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date")
}

fn day(days: i64) -> RawCell<'static> {
    pg_epoch()
        .checked_add_signed(chrono::Duration::days(days))
        .map_or(RawCell::Error(CellIssue::DateOutOfRange), RawCell::Date)
}

/// The raw cell of one value. A value the server sent in a form its type
/// does not have (which a working server never does) is an unreadable cell.
fn cell(decode: Decode, raw: Option<&[u8]>) -> RawCell<'_> {
    use postgres_protocol::types as t;
    let Some(raw) = raw else {
        return RawCell::Empty;
    };
    let bad = || RawCell::Error(CellIssue::SpreadsheetError("(unreadable value)".into()));
    match decode {
        Decode::Int2 => t::int2_from_sql(raw).map_or_else(|_| bad(), |v| RawCell::Int(v.into())),
        Decode::Int4 => t::int4_from_sql(raw).map_or_else(|_| bad(), |v| RawCell::Int(v.into())),
        Decode::Int8 => t::int8_from_sql(raw).map_or_else(|_| bad(), RawCell::Int),
        // Through the shortest decimal text of the f32, so that a real
        // 7.1 reads as 7.1 and not as 7.099999904632568.
        Decode::Float4 => t::float4_from_sql(raw).map_or_else(
            |_| bad(),
            |v| RawCell::Number(v.to_string().parse::<f64>().unwrap_or(f64::from(v))),
        ),
        Decode::Float8 => t::float8_from_sql(raw).map_or_else(|_| bad(), RawCell::Number),
        Decode::Numeric => match t::text_from_sql(raw) {
            // An integer stays exact (a record number kept as numeric);
            // NaN and infinities stay text, which no number column reads.
            Ok(s) => match (s.parse::<i64>(), s.parse::<f64>()) {
                (Ok(i), _) => RawCell::Int(i),
                (_, Ok(f)) if f.is_finite() => RawCell::Number(f),
                _ => RawCell::Text(s),
            },
            Err(_) => bad(),
        },
        Decode::Bool => t::bool_from_sql(raw).map_or_else(|_| bad(), RawCell::Bool),
        Decode::Text => t::text_from_sql(raw).map_or_else(|_| bad(), RawCell::Text),
        Decode::Date => match t::date_from_sql(raw) {
            // i32::MAX and i32::MIN are 'infinity' and '-infinity'.
            Ok(i32::MAX | i32::MIN) => RawCell::Error(CellIssue::DateOutOfRange),
            Ok(d) => day(d.into()),
            Err(_) => bad(),
        },
        Decode::Timestamp => match t::timestamp_from_sql(raw) {
            Ok(i64::MAX | i64::MIN) => RawCell::Error(CellIssue::DateOutOfRange),
            Ok(us) => day(us.div_euclid(86_400_000_000)),
            Err(_) => bad(),
        },
    }
}

/// The user's query without the trailing semicolons and blanks that would
/// break it as a subquery.
fn inner_query(query: &str) -> &str {
    query.trim().trim_end_matches([';', ' ', '\n', '\r', '\t'])
}

/// Where the connection comes from, and the parsed configuration.
struct Connection {
    config: Config,
    from: String,
    key: &'static str,
}

impl Connection {
    /// The connection without its password, for messages and the manifest.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .map(|h| match h {
                Host::Tcp(s) => s.clone(),
                Host::Unix(p) => p.display().to_string(),
            })
            .collect();
        if !hosts.is_empty() {
            parts.push(format!("host={}", hosts.join(",")));
        }
        let ports: Vec<String> = self.config.get_ports().iter().map(u16::to_string).collect();
        if !ports.is_empty() {
            parts.push(format!("port={}", ports.join(",")));
        }
        if let Some(db) = self.config.get_dbname() {
            parts.push(format!("dbname={db}"));
        }
        if let Some(user) = self.config.get_user() {
            parts.push(format!("user={user}"));
        }
        parts.join(" ")
    }

    /// A message of the driver or the server with the password, should it
    /// ever appear, blanked out.
    fn scrub(&self, text: &str) -> String {
        match self.config.get_password().map(String::from_utf8_lossy) {
            Some(p) if !p.is_empty() => text.replace(p.as_ref(), "********"),
            _ => text.to_string(),
        }
    }
}

/// An error and its causes (`error connecting to server: failed to lookup
/// address information: ...`): the driver's top-level message alone does
/// not say what failed.
fn chain(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !text.contains(&c_text) {
            text = format!("{text}: {c_text}");
        }
        cause = c.source();
    }
    text
}

fn err(source: &Source, key: &str, message: String, fix: String) -> IngestError {
    IngestError::new(&source.file, message, fix).column(key.to_string())
}

/// The service file a `service` is looked up in, as libpq does: the user's
/// (`PGSERVICEFILE`, else `~/.pg_service.conf`), then the system's
/// (`PGSYSCONFDIR/pg_service.conf`).
fn service_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    match std::env::var_os("PGSERVICEFILE") {
        Some(f) => files.push(PathBuf::from(f)),
        None => {
            if let Some(home) = std::env::var_os("HOME") {
                files.push(PathBuf::from(home).join(".pg_service.conf"));
            }
        }
    }
    if let Some(dir) = std::env::var_os("PGSYSCONFDIR") {
        files.push(PathBuf::from(dir).join("pg_service.conf"));
    }
    files
}

/// The `key=value` lines of section `[name]` of a service file, as a libpq
/// connection string (values quoted), or None when it has no such section.
pub(crate) fn service_entry(text: &str, name: &str) -> Option<String> {
    let mut inside = false;
    let mut found = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = section.trim() == name;
            found |= inside;
            continue;
        }
        if inside && let Some((k, v)) = line.split_once('=') {
            let v = v.trim().replace('\\', "\\\\").replace('\'', "\\'");
            out.push(format!("{}='{v}'", k.trim()));
        }
    }
    found.then(|| out.join(" "))
}

fn connection(source: &Source, pg: &PostgresConfig) -> Result<Connection, IngestError> {
    let toml = source.file.display();
    let (text, from, key) = match (&pg.connection_env, &pg.service) {
        (Some(var), _) => {
            let key = "source.postgres.connection_env";
            let text = std::env::var(var).map_err(|_| {
                err(
                    source,
                    key,
                    format!("the environment variable {var} is not set (or not valid UTF-8)"),
                    format!(
                        "set {var} to the database's libpq connection string or URL before the \
                         run (export {var}='host=... port=... dbname=... user=... password=...' \
                         or 'postgresql://user:password@host:port/dbname'); it is read from the \
                         environment so that no password is written in {toml}"
                    ),
                )
            })?;
            (text, format!("environment variable {var}"), key)
        }
        (None, Some(name)) => {
            let key = "source.postgres.service";
            let files = service_files();
            let mut entry = None;
            for f in &files {
                if let Ok(text) = std::fs::read_to_string(f)
                    && let Some(e) = service_entry(&text, name)
                {
                    entry = Some(e);
                    break;
                }
            }
            let shown: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            let text = entry.ok_or_else(|| {
                err(
                    source,
                    key,
                    format!(
                        "no service [{name}] in the service file ({})",
                        if shown.is_empty() {
                            "none: PGSERVICEFILE and HOME are not set".to_string()
                        } else {
                            shown.join(", ")
                        }
                    ),
                    format!(
                        "add a section [{name}] with host=, port=, dbname=, user= (and password=) \
                         lines to ~/.pg_service.conf, or point PGSERVICEFILE at a file that has \
                         one"
                    ),
                )
            })?;
            (text, format!("service {name}"), key)
        }
        (None, None) => {
            return Err(err(
                source,
                "source.postgres",
                "no connection: neither connection_env nor service is set".into(),
                "set connection_env = \"NAME\" (an environment variable holding the connection \
                 string) or service = \"NAME\" (a service of ~/.pg_service.conf)"
                    .into(),
            ));
        }
    };
    let mut config: Config = text.parse().map_err(|e: postgres::Error| {
        err(
            source,
            key,
            format!("the connection string from the {from} does not parse: {e}"),
            "write it as libpq key=value pairs (host=... port=... dbname=... user=...) or as a \
             postgresql://user@host:port/dbname URL"
                .into(),
        )
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(10));
    }
    Ok(Connection { config, from, key })
}

/// Reads the table or query into the converter; returns what was read for
/// the manifest.
pub(crate) fn read(source: &Source, conv: &mut Converter) -> Result<DatabaseRead, IngestError> {
    let toml = source.file.display().to_string();
    let pg = source
        .config
        .postgres
        .as_ref()
        .map(|p| p.get_ref().clone())
        .unwrap_or_default();
    let conn = connection(source, &pg)?;
    let described = conn.describe();
    let mut client = conn.config.connect(NoTls).map_err(|e| {
        let (message, fix) = match e.as_db_error() {
            Some(db) if matches!(db.code().code(), "28P01" | "28000") => (
                format!(
                    "the PostgreSQL server refused the login ({described}): {}",
                    conn.scrub(db.message())
                ),
                format!(
                    "check the user and password in the connection string of the {}; the \
                     password stays there (or in the service file), never in {toml}",
                    conn.from
                ),
            ),
            Some(db) if db.code().code() == "3D000" => (
                format!(
                    "the PostgreSQL server has no such database ({described}): {}",
                    conn.scrub(db.message())
                ),
                format!("check dbname in the connection string of the {}", conn.from),
            ),
            Some(db) => (
                format!(
                    "the PostgreSQL server refused the connection ({described}): {} (SQLSTATE {})",
                    conn.scrub(db.message()),
                    db.code().code()
                ),
                format!("check the connection string of the {}", conn.from),
            ),
            None => (
                format!(
                    "cannot connect to the PostgreSQL server ({described}): {}",
                    conn.scrub(&chain(&e))
                ),
                format!(
                    "check that the server runs and that host and port in the connection string \
                     of the {} are right (the client does not use TLS: sslmode=require cannot be \
                     met)",
                    conn.from
                ),
            ),
        };
        err(source, conn.key, message, fix)
    })?;
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(|e| {
            err(
                source,
                conn.key,
                format!(
                    "cannot start a read-only transaction: {}",
                    conn.scrub(&chain(&e))
                ),
                "check that the server accepts queries from this user".into(),
            )
        })?;

    // The statement whose columns are the export's columns.
    let (inner, what, key) = match (&pg.table, &pg.query) {
        (Some(t), _) => (
            format!(
                "SELECT * FROM {}",
                table_name(t).unwrap_or_else(|| ident(t))
            ),
            format!("table \"{t}\""),
            "source.postgres.table",
        ),
        (None, Some(q)) => (
            inner_query(q).to_string(),
            "the query".to_string(),
            "source.postgres.query",
        ),
        (None, None) => {
            return Err(err(
                source,
                "source.postgres",
                "neither table nor query is set".into(),
                "set table = \"schema.table\" or query = \"select ...\"".into(),
            ));
        }
    };
    let sql_error = |e: postgres::Error, stage: &str| {
        let Some(db) = e.as_db_error() else {
            return err(
                source,
                key,
                format!("{stage} {what} failed: {}", conn.scrub(&chain(&e))),
                "check the connection and the server's log".into(),
            );
        };
        let fix = match db.code().code() {
            "42P01" => format!(
                "check `table` (or the tables of `query`) in {toml}: names are matched exactly as \
                 the database spells them (schema.table, case-sensitive), and the user must be \
                 allowed to see the table"
            ),
            "42703" => format!("check the column names of `query` in {toml}"),
            "42501" => "grant the user SELECT on the table (GRANT SELECT ON ... TO ...)".into(),
            "42601" => format!("correct the SQL of `query` in {toml}"),
            _ => format!("check `table` or `query` in {toml}"),
        };
        err(
            source,
            key,
            format!(
                "{stage} {what} failed: {} (SQLSTATE {})",
                conn.scrub(db.message()),
                db.code().code()
            ),
            fix,
        )
    };
    let described_stmt = tx.prepare(&inner).map_err(|e| sql_error(e, "preparing"))?;
    let names: Vec<String> = described_stmt
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let types: Vec<Type> = described_stmt
        .columns()
        .iter()
        .map(|c| c.type_().clone())
        .collect();

    if !conv.plans.is_empty() && !conv.plans.iter().any(|p| names.contains(&p.header)) {
        return Err(err(
            source,
            "source.columns",
            format!(
                "none of the {} mapped columns is a column of {what}; its columns are {}",
                conv.plans.len(),
                crate::text::quoted(&names)
            ),
            format!("map the result columns by name in [source.columns] of {toml}"),
        ));
    }
    // Unmapped columns are checked below: an order_by column is used.
    crate::headers::resolve(
        conv,
        &names,
        0,
        &format!("the columns of {what}"),
        crate::config::Unmapped::Ignore,
        &toml,
        |_| None,
    )
    .map_err(|mut e| {
        e.file = source.file.clone();
        e.line = None;
        e
    })?;
    if source.config.unmapped_columns == crate::config::Unmapped::Error {
        let extra: Vec<String> = names
            .iter()
            .filter(|n| !conv.plans.iter().any(|p| &p.header == *n) && !pg.order_by.contains(n))
            .cloned()
            .collect();
        if !extra.is_empty() {
            return Err(err(
                source,
                "source.unmapped_columns",
                format!(
                    "columns of {what} not mapped to any canonical column (unmapped_columns = \
                     \"error\"): {}",
                    crate::text::quoted(&extra)
                ),
                format!(
                    "map them in [source.columns] of {toml}, leave them out of the query, or set \
                     unmapped_columns = \"ignore\""
                ),
            ));
        }
    }

    // The order: result columns, each once.
    let mut order = Vec::new();
    for name in &pg.order_by {
        match names.iter().position(|n| n == name) {
            Some(i) => order.push(i),
            None => {
                return Err(err(
                    source,
                    "source.postgres.order_by",
                    format!(
                        "order_by names \"{name}\", which is not a column of {what}; its columns \
                         are {}",
                        crate::text::quoted(&names)
                    ),
                    format!("name result columns of {what} in order_by of {toml}"),
                ));
            }
        }
    }
    if order.is_empty() {
        return Err(err(
            source,
            "source.postgres.order_by",
            "order_by is empty".into(),
            "declare the columns that order the rows (order_by = [\"id\"])".into(),
        ));
    }

    // The mapped columns, in plan order; numeric as text.
    let mut select = Vec::new();
    let mut decodes = Vec::new();
    for (k, &f) in conv.fields.iter().enumerate() {
        let header = &conv.plans[k].header;
        let canonical = &conv.plans[k].canonical;
        let ty = &types[f];
        let Some(d) = decode_of(ty) else {
            return Err(err(
                source,
                "source.columns",
                format!(
                    "column \"{header}\" (mapped to {canonical}) of {what} has PostgreSQL type \
                     {}, which cohortflow does not read (it reads smallint, integer, bigint, \
                     real, double precision, numeric, text, varchar, char, enums, boolean, date \
                     and timestamp)",
                    ty.name()
                ),
                format!(
                    "cast it in a query: query = \"select ..., {}::text as {} ...\" (or ::date \
                     for a timestamp with time zone, at the time zone the registry means)",
                    ident(header),
                    ident(header)
                ),
            )
            .column(header.clone()));
        };
        let col = format!("q.{}", ident(header));
        select.push(if d == Decode::Numeric {
            format!("{col}::text")
        } else {
            col
        });
        decodes.push(d);
    }
    // Then the order_by columns, whose wire bytes tell equal neighbours.
    for &i in &order {
        select.push(format!("q.{}", ident(&names[i])));
    }
    let order_sql: Vec<String> = order
        .iter()
        .map(|&i| format!("q.{}", ident(&names[i])))
        .collect();
    let query = format!(
        "SELECT {} FROM ({inner}) AS q ORDER BY {}",
        select.join(", "),
        order_sql.join(", ")
    );

    let mut hash = Sha256::new();
    for (k, &f) in conv.fields.iter().enumerate() {
        hash.update(conv.plans[k].header.as_bytes());
        hash.update([0]);
        hash.update(types[f].name().as_bytes());
        hash.update([0]);
    }
    let mapped = decodes.len();
    let mut rows = tx
        .query_raw(query.as_str(), std::iter::empty::<i32>())
        .map_err(|e| sql_error(e, "reading"))?;
    // Source field index -> selected column, for the converter's `cell(i)`.
    let mut by_field: Vec<Option<usize>> = vec![None; names.len()];
    for (j, &f) in conv.fields.iter().enumerate() {
        by_field[f] = Some(j);
    }
    let mut previous: Option<Vec<Option<Vec<u8>>>> = None;
    let mut position: i64 = 0;
    let fetch_error = |e: postgres::Error, position: i64| match e.as_db_error() {
        // A server error while rows are sent can quote a value (a failed
        // cast in the query): only its code is shown.
        Some(db) => err(
            source,
            key,
            format!(
                "the server stopped sending the rows of {what} after row {position}: SQLSTATE {} \
                 (the server's message may quote a value, so it is not shown; the server's log \
                 has it)",
                db.code().code()
            ),
            format!("correct `query` in {toml}, or the data it fails on"),
        ),
        None => err(
            source,
            key,
            format!(
                "reading the rows of {what} failed after row {position}: {}",
                conn.scrub(&chain(&e))
            ),
            "check the connection and the server's log".into(),
        ),
    };
    loop {
        let row = match rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => return Err(fetch_error(e, position)),
        };
        position += 1;
        let mut wire: Vec<Option<&[u8]>> = Vec::with_capacity(row.len());
        for i in 0..row.len() {
            let v: Wire = row.try_get(i).map_err(|e| fetch_error(e, position))?;
            wire.push(v.0);
        }
        for v in &wire {
            match v {
                Some(b) => {
                    hash.update((b.len() as i32).to_be_bytes());
                    hash.update(b);
                }
                None => hash.update((-1i32).to_be_bytes()),
            }
        }
        let key_now: Vec<Option<Vec<u8>>> = wire[mapped..]
            .iter()
            .map(|v| v.map(<[u8]>::to_vec))
            .collect();
        if previous.as_ref() == Some(&key_now) {
            let order_names: Vec<&str> = order.iter().map(|&i| names[i].as_str()).collect();
            return Err(err(
                source,
                "source.postgres.order_by",
                format!(
                    "rows {} and {position} of {what} have the same {} (order_by), so their \
                     order, and with it each row's line, is not stable from one run to the next",
                    position - 1,
                    order_names.join(", ")
                ),
                format!(
                    "add columns to order_by in {toml} until they identify a row (the table's \
                     primary key does)"
                ),
            ));
        }
        previous = Some(key_now);
        let cells: Vec<RawCell> = wire[..mapped]
            .iter()
            .zip(&decodes)
            .map(|(v, &d)| cell(d, *v))
            .collect();
        let blank = cells.iter().all(|c| match c {
            RawCell::Empty => true,
            RawCell::Text(s) => s.trim().is_empty(),
            _ => false,
        });
        if blank {
            conv.blank_row(position);
            continue;
        }
        conv.push_row(position, |f| {
            by_field
                .get(f)
                .copied()
                .flatten()
                .map_or(RawCell::Empty, |j| cells[j].clone())
        })
        .map_err(|mut e| {
            e.message = format!("row {position} of {what} in order_by order: {}", e.message);
            e.line = None;
            e
        })?;
    }
    drop(rows);
    tx.commit().map_err(|e| {
        err(
            source,
            conn.key,
            format!(
                "closing the read-only transaction failed: {}",
                conn.scrub(&chain(&e))
            ),
            "check the connection and the server's log".into(),
        )
    })?;
    if position == 0 {
        return Err(err(
            source,
            key,
            format!("{what} has its columns but no rows"),
            "check the table or query: a filter that selected nobody, or the wrong table; if the \
             centre has no patients, remove the source from the pipeline"
                .into(),
        ));
    }
    Ok(DatabaseRead {
        database: "postgres".into(),
        connection_from: conn.from.clone(),
        connection: described,
        query,
        rows: position as u64,
        sha256: format!("{:x}", hash.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_quoted_parts() {
        assert_eq!(
            table_name("public.center_a").unwrap(),
            "\"public\".\"center_a\""
        );
        assert_eq!(table_name("Patients").unwrap(), "\"Patients\"");
        assert_eq!(table_name("a\"b").unwrap(), "\"a\"\"b\"");
        assert!(table_name("a.b.c").is_none());
        assert!(table_name("a.").is_none());
        assert!(table_name("").is_none());
    }

    #[test]
    fn service_sections_become_connection_strings() {
        let text = "# comment\n[other]\nhost=x\n\n[mgist]\nhost = 127.0.0.1\nport=5433\n\
                    dbname=reg\nuser=o'brien\n[last]\nhost=y\n";
        assert_eq!(
            service_entry(text, "mgist").unwrap(),
            "host='127.0.0.1' port='5433' dbname='reg' user='o\\'brien'"
        );
        assert!(service_entry(text, "none").is_none());
        let config: Config = service_entry(text, "mgist").unwrap().parse().unwrap();
        assert_eq!(config.get_user(), Some("o'brien"));
        assert_eq!(config.get_ports(), &[5433]);
    }

    #[test]
    fn values_become_raw_cells() {
        assert_eq!(
            cell(Decode::Int2, Some(&7i16.to_be_bytes())),
            RawCell::Int(7)
        );
        assert_eq!(
            cell(Decode::Int4, Some(&(-3i32).to_be_bytes())),
            RawCell::Int(-3)
        );
        assert_eq!(
            cell(Decode::Int8, Some(&(1i64 << 40).to_be_bytes())),
            RawCell::Int(1 << 40)
        );
        assert_eq!(
            cell(Decode::Float4, Some(&7.1f32.to_be_bytes())),
            RawCell::Number(7.1)
        );
        assert_eq!(
            cell(Decode::Float8, Some(&7.5f64.to_be_bytes())),
            RawCell::Number(7.5)
        );
        assert_eq!(
            cell(Decode::Numeric, Some(b"12345678901234567")),
            RawCell::Int(12345678901234567)
        );
        assert_eq!(cell(Decode::Numeric, Some(b"7.50")), RawCell::Number(7.5));
        assert_eq!(cell(Decode::Numeric, Some(b"NaN")), RawCell::Text("NaN"));
        assert_eq!(cell(Decode::Bool, Some(&[1])), RawCell::Bool(true));
        assert_eq!(cell(Decode::Text, Some(b"abc")), RawCell::Text("abc"));
        assert_eq!(cell(Decode::Text, None), RawCell::Empty);
        let d = |y, m, day| RawCell::Date(NaiveDate::from_ymd_opt(y, m, day).unwrap());
        assert_eq!(cell(Decode::Date, Some(&0i32.to_be_bytes())), d(2000, 1, 1));
        assert_eq!(
            cell(Decode::Date, Some(&(-1i32).to_be_bytes())),
            d(1999, 12, 31)
        );
        assert_eq!(
            cell(Decode::Date, Some(&i32::MAX.to_be_bytes())),
            RawCell::Error(CellIssue::DateOutOfRange)
        );
        // 1999-12-31 23:00 is on the 31st.
        let us = -3_600_000_000i64;
        assert_eq!(
            cell(Decode::Timestamp, Some(&us.to_be_bytes())),
            d(1999, 12, 31)
        );
        assert!(matches!(
            cell(Decode::Int4, Some(&[1, 2])),
            RawCell::Error(_)
        ));
    }
}
