//! The visitor's region from a local GeoIP database file (INBOX-2), for when no trusted proxy
//! header says it. No external GeoIP service is ever called.
//!
//! The file is a MaxMind DB (`.mmdb`, the GeoIP2 / GeoLite2 City or Country format, or any
//! database with the same `country.iso_code` / `subdivisions[].iso_code` fields), read with
//! the `maxminddb` crate, MaxMind's format's standard Rust reader. The region is the country
//! code, with the most specific subdivision when the database has one (`UA-30`): the same
//! codes the inboxes' routing rules use.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::geoip2;

pub struct GeoIp {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl GeoIp {
    pub fn open(path: &Path) -> Result<Self, maxminddb::MaxMindDbError> {
        Ok(Self {
            reader: maxminddb::Reader::open_readfile(path)?,
        })
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, maxminddb::MaxMindDbError> {
        Ok(Self {
            reader: maxminddb::Reader::from_source(bytes)?,
        })
    }

    /// `UA-30`, `UA`, or `None` when the database knows nothing of this address. A damaged
    /// record is logged and treated as unknown: routing falls back to the default branch.
    pub fn region(&self, ip: IpAddr) -> Option<String> {
        let decoded = self
            .reader
            .lookup(ip)
            .and_then(|found| found.decode::<geoip2::City>());
        let city = match decoded {
            Ok(city) => city?,
            Err(err) => {
                tracing::warn!(%ip, error = %err, "GeoIP lookup failed");
                return None;
            }
        };
        let country = city.country.iso_code?;
        match city.subdivisions.last().and_then(|s| s.iso_code) {
            Some(subdivision) => Some(format!("{country}-{subdivision}")),
            None => Some(country.to_owned()),
        }
    }
}
