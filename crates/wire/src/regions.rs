//! The regions R-KVStore is offered in, as the client knows them: a region outside this list
//! is refused before any call is made (a typo would otherwise surface as a DNS failure of
//! `r-kvstore.<region>.aliyuncs.com`, or create a stack in a region nobody meant).
//!
//! The list is the client's own; it does not come from the emulator's catalog, which serves a
//! subset of it.

/// Every region ID of the public cloud (and its finance zones) where ApsaraDB for Redis is sold.
pub const KNOWN: &[&str] = &[
    "cn-qingdao",
    "cn-beijing",
    "cn-zhangjiakou",
    "cn-huhehaote",
    "cn-wulanchabu",
    "cn-hangzhou",
    "cn-shanghai",
    "cn-nanjing",
    "cn-fuzhou",
    "cn-shenzhen",
    "cn-heyuan",
    "cn-guangzhou",
    "cn-chengdu",
    "cn-wuhan-lr",
    "cn-hongkong",
    "cn-hangzhou-finance",
    "cn-shanghai-finance-1",
    "cn-shenzhen-finance-1",
    "cn-beijing-finance-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ap-south-1",
    "us-east-1",
    "us-west-1",
    "eu-west-1",
    "eu-central-1",
    "me-east-1",
    "me-central-1",
    "na-south-1",
];

/// A region kvsync does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{region:?} ({source_name}) is not a region R-KVStore is offered in; known regions: {}",
    KNOWN.join(", ")
)]
pub struct UnknownRegion {
    /// The region as given.
    pub region: String,
    /// Where it was given (`--region`, a variable's name, a profile).
    pub source_name: String,
}

/// Whether `region` is a known R-KVStore region.
pub fn is_known(region: &str) -> bool {
    KNOWN.contains(&region)
}

/// `region` if it is known, else an error naming where it came from (`source_name`).
pub fn check(region: &str, source_name: &str) -> Result<(), UnknownRegion> {
    if is_known(region) {
        Ok(())
    } else {
        Err(UnknownRegion {
            region: region.to_owned(),
            source_name: source_name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_regions_pass_and_others_are_refused_with_the_list() {
        assert!(check("cn-hangzhou", "--region").is_ok());
        assert!(check("ap-southeast-1", "--region").is_ok());
        let err = check("cn-mars", "--region").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("\"cn-mars\" (--region) is not a region"),
            "{text}"
        );
        assert!(text.contains("cn-hangzhou, cn-shanghai"), "{text}");
    }
}
