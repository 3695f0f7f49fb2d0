//! Runs the attribution statements on D1 (binding `EVENTS`).
use wasm_bindgen::JsValue;
use worker::{Context, D1PreparedStatement, Env, Result};

use crate::events::{SqlValue, Stmt};

fn bind(db: &worker::D1Database, stmt: &Stmt) -> Result<D1PreparedStatement> {
    let params: Vec<JsValue> = stmt
        .params
        .iter()
        .map(|p| match p {
            SqlValue::Null => JsValue::NULL,
            SqlValue::Int(i) => JsValue::from_f64(*i as f64),
            SqlValue::Text(s) => JsValue::from_str(s),
        })
        .collect();
    db.prepare(stmt.sql).bind(&params)
}

/// Runs `stmts` as one batch (one transaction); returns rows changed per statement.
pub async fn run(env: &Env, stmts: &[Stmt]) -> Result<Vec<u64>> {
    let db = env.d1("EVENTS")?;
    let prepared = stmts
        .iter()
        .map(|s| bind(&db, s))
        .collect::<Result<Vec<_>>>()?;
    let results = db.batch(prepared).await?;
    Ok(results
        .iter()
        .map(|r| r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0) as u64)
        .collect())
}

/// Runs `stmts` after the response, without delaying the page.
pub fn run_later(env: &Env, ctx: &Context, stmts: Vec<Stmt>) {
    let Ok(db) = env.d1("EVENTS") else {
        worker::console_warn!(
            "upsell: no EVENTS binding; {} statements dropped",
            stmts.len()
        );
        return;
    };
    ctx.wait_until(async move {
        let prepared: Result<Vec<_>> = stmts.iter().map(|s| bind(&db, s)).collect();
        let outcome = match prepared {
            Ok(p) => db.batch(p).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            worker::console_error!("upsell: D1 write failed: {e}");
        }
    });
}

/// Runs one query and deserialises its rows.
pub async fn query<T: serde::de::DeserializeOwned>(env: &Env, stmt: &Stmt) -> Result<Vec<T>> {
    let db = env.d1("EVENTS")?;
    bind(&db, stmt)?.all().await?.results()
}
