//! A fresh database per scenario on the PostgreSQL server the service uses, migrated like
//! production, so no run sees another's rows.

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use std::str::FromStr;

/// Drops and creates database `name` next to the one `admin_url` names, runs the migrations,
/// and returns its URL.
pub async fn fresh(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let admin = PgConnectOptions::from_str(admin_url).context("parsing the database URL")?;
    let mut conn = admin.connect().await.context("connecting to PostgreSQL")?;
    sqlx::query(&format!("drop database if exists {name} with (force)"))
        .execute(&mut conn)
        .await?;
    sqlx::query(&format!("create database {name}"))
        .execute(&mut conn)
        .await
        .with_context(|| format!("creating database {name}"))?;
    let mut url = reqwest::Url::parse(admin_url).context("parsing the database URL")?;
    url.set_path(name);
    let url = url.to_string();
    let pool = pool(&url, 2).await?;
    switchboard_commands::MIGRATOR
        .run(&pool)
        .await
        .context("migrating")?;
    pool.close().await;
    Ok(url)
}

/// A pool of `size` connections on `url`.
pub async fn pool(url: &str, size: u32) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(size)
        .min_connections(size.min(4))
        .connect(url)
        .await
        .with_context(|| format!("connecting to {url}"))
}

/// Drops database `name` (at the end of a scenario, to give the disk back).
pub async fn drop(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = PgConnectOptions::from_str(admin_url)?;
    let mut conn = admin.connect().await?;
    sqlx::query(&format!("drop database if exists {name} with (force)"))
        .execute(&mut conn)
        .await?;
    Ok(())
}
