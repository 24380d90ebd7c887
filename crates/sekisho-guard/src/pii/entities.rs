//! The PII entity types: the 31 of Bedrock's `GuardrailPiiEntityType` enum
//! (botocore `bedrock` 2023-04-20) and Sekisho's Japanese extension types.

macro_rules! entity_types {
    ($($variant:ident => $name:literal,)*) => {
        /// A PII entity type.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EntityType { $($variant,)* }

        impl EntityType {
            /// Every type, Bedrock's first, in enum order.
            pub const ALL: &'static [EntityType] = &[$(EntityType::$variant,)*];

            /// The wire name (`US_SOCIAL_SECURITY_NUMBER`, `JP_MY_NUMBER`).
            pub fn as_str(self) -> &'static str {
                match self { $(EntityType::$variant => $name,)* }
            }

            /// Parses a wire name; `None` for an unknown type.
            pub fn parse(name: &str) -> Option<Self> {
                match name { $($name => Some(EntityType::$variant),)* _ => None }
            }
        }
    };
}

entity_types! {
    Address => "ADDRESS",
    Age => "AGE",
    AwsAccessKey => "AWS_ACCESS_KEY",
    AwsSecretKey => "AWS_SECRET_KEY",
    CaHealthNumber => "CA_HEALTH_NUMBER",
    CaSocialInsuranceNumber => "CA_SOCIAL_INSURANCE_NUMBER",
    CardCvv => "CREDIT_DEBIT_CARD_CVV",
    CardExpiry => "CREDIT_DEBIT_CARD_EXPIRY",
    CardNumber => "CREDIT_DEBIT_CARD_NUMBER",
    DriverId => "DRIVER_ID",
    Email => "EMAIL",
    Iban => "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    IpAddress => "IP_ADDRESS",
    LicensePlate => "LICENSE_PLATE",
    MacAddress => "MAC_ADDRESS",
    Name => "NAME",
    Password => "PASSWORD",
    Phone => "PHONE",
    Pin => "PIN",
    SwiftCode => "SWIFT_CODE",
    UkNhsNumber => "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    UkNino => "UK_NATIONAL_INSURANCE_NUMBER",
    UkUtr => "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER",
    Url => "URL",
    Username => "USERNAME",
    UsBankAccount => "US_BANK_ACCOUNT_NUMBER",
    UsRouting => "US_BANK_ROUTING_NUMBER",
    UsItin => "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
    UsPassport => "US_PASSPORT_NUMBER",
    UsSsn => "US_SOCIAL_SECURITY_NUMBER",
    Vin => "VEHICLE_IDENTIFICATION_NUMBER",
    JpMyNumber => "JP_MY_NUMBER",
    JpCorporateNumber => "JP_CORPORATE_NUMBER",
    JpPhone => "JP_PHONE",
    JpPostalCode => "JP_POSTAL_CODE",
    JpDriversLicense => "JP_DRIVERS_LICENSE",
    JpPassport => "JP_PASSPORT",
    JpResidenceCard => "JP_RESIDENCE_CARD",
    JpBankAccount => "JP_BANK_ACCOUNT",
    JpHealthInsuranceNumber => "JP_HEALTH_INSURANCE_NUMBER",
}

impl EntityType {
    /// Bit for `EntitySet`.
    pub(crate) fn bit(self) -> u64 {
        1u64 << (self as u32)
    }

    /// Is this one of Bedrock's own 31 types (not a Sekisho extension)?
    pub fn is_bedrock(self) -> bool {
        (self as usize) < 31
    }
}

/// A set of entity types (there are fewer than 64).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntitySet(u64);

impl EntitySet {
    pub fn insert(&mut self, t: EntityType) {
        self.0 |= t.bit();
    }
    pub fn contains(self, t: EntityType) -> bool {
        self.0 & t.bit() != 0
    }
    pub fn any(self, ts: &[EntityType]) -> bool {
        ts.iter().any(|t| self.contains(*t))
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_one_bedrock_types_round_trip() {
        assert_eq!(
            EntityType::ALL.iter().filter(|t| t.is_bedrock()).count(),
            31
        );
        assert_eq!(EntityType::ALL.len(), 40);
        for t in EntityType::ALL {
            assert_eq!(EntityType::parse(t.as_str()), Some(*t));
        }
        assert_eq!(EntityType::parse("SSN"), None);
    }
}
