//! Virtual MFA devices.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::iam::model::{MfaDevice, SealedSecret, Tag};
use crate::iam::{Collection, IamError, IamErrorKind, IamState, key_of, validate};

/// `CreateVirtualMFADevice`.
#[derive(Debug, Clone, Default)]
pub struct CreateVirtualMfaDeviceRequest {
    pub virtual_mfa_device_name: String,
    /// Default `/`.
    pub path: Option<String>,
    pub tags: Vec<Tag>,
}

/// `AssignmentStatus` of `ListVirtualMFADevices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssignmentStatus {
    Assigned,
    Unassigned,
    #[default]
    Any,
}

impl AssignmentStatus {
    pub fn parse(text: &str) -> Result<AssignmentStatus, IamError> {
        match text {
            "Assigned" => Ok(AssignmentStatus::Assigned),
            "Unassigned" => Ok(AssignmentStatus::Unassigned),
            "Any" => Ok(AssignmentStatus::Any),
            other => Err(IamError::validation(
                Some(other),
                "assignmentStatus",
                "Member must satisfy enum value set: [Unassigned, Any, Assigned]",
            )),
        }
    }
}

fn device_not_found(serial: &str) -> IamError {
    IamError::no_such(format!(
        "VirtualMFADevice with serial number {serial} doesn't exist."
    ))
}

impl IamState {
    /// Records a virtual MFA device whose base32 seed the caller generated
    /// (and returns to the client once) and sealed.
    pub fn create_virtual_mfa_device(
        &mut self,
        req: CreateVirtualMfaDeviceRequest,
        seed: SealedSecret,
        now: OffsetDateTime,
    ) -> Result<&MfaDevice, IamError> {
        validate::name(
            "virtualMFADeviceName",
            &req.virtual_mfa_device_name,
            validate::MFA_NAME_MAX,
        )?;
        let path = req.path.unwrap_or_else(|| "/".to_string());
        validate::path(&path)?;
        validate::tags(&req.tags)?;
        let serial = self.arn("mfa", &path, &req.virtual_mfa_device_name);
        if self.mfa.contains_key(&serial)
            || self
                .mfa
                .values()
                .any(|m| key_of(&m.name) == key_of(&req.virtual_mfa_device_name) && m.path == path)
        {
            return Err(IamError::exists(
                "MFADevice entity at the same path and name already exists.",
            ));
        }
        if self.mfa.len() >= self.quotas.virtual_mfa_devices {
            return Err(IamError::quota(
                "VirtualMFADevicesPerAccount",
                self.quotas.virtual_mfa_devices,
            ));
        }
        let device = MfaDevice {
            serial_number: serial.clone(),
            name: req.virtual_mfa_device_name,
            path,
            seed,
            create_date: now,
            user: None,
            enable_date: None,
            tags: req.tags,
        };
        Arc::make_mut(&mut self.mfa).insert(serial.clone(), Arc::new(device));
        self.touch(Collection::Mfa, &serial);
        self.mfa
            .get(&serial)
            .map(|d| &**d)
            .ok_or_else(|| IamError::internal("the new MFA device vanished"))
    }

    /// `EnableMFADevice`: `verify(seed, code1, code2)` checks the two
    /// consecutive TOTP codes (the caller unseals the seed); a `false`
    /// answer is `InvalidAuthenticationCode`.
    pub fn enable_mfa_device(
        &mut self,
        user_name: &str,
        serial_number: &str,
        authentication_code1: &str,
        authentication_code2: &str,
        verify: impl FnOnce(&SealedSecret, &str, &str) -> bool,
        now: OffsetDateTime,
    ) -> Result<(), IamError> {
        validate::serial_number(serial_number)?;
        validate::authentication_code("authenticationCode1", authentication_code1)?;
        validate::authentication_code("authenticationCode2", authentication_code2)?;
        let user = self.get_user(user_name)?;
        let user_stored = user.name.clone();
        let uk = key_of(&user.name);
        let device = self
            .mfa
            .get(serial_number)
            .ok_or_else(|| device_not_found(serial_number))?;
        if device.user.is_some() {
            return Err(IamError::exists("MFA Device is already in use."));
        }
        let count = self
            .mfa
            .values()
            .filter(|m| m.user.as_deref().is_some_and(|u| key_of(u) == uk))
            .count();
        if count >= self.quotas.mfa_devices_per_user {
            return Err(IamError::quota(
                "MFADevicesPerUser",
                self.quotas.mfa_devices_per_user,
            ));
        }
        if !verify(&device.seed, authentication_code1, authentication_code2) {
            return Err(IamError::new(
                IamErrorKind::InvalidAuthenticationCode,
                "Authentication code for device is not valid.",
            ));
        }
        let device = self.mfa_mut(serial_number)?;
        device.user = Some(user_stored);
        device.enable_date = Some(now);
        Ok(())
    }

    /// Disassociates the device from the user; the virtual device remains.
    pub fn deactivate_mfa_device(
        &mut self,
        user_name: &str,
        serial_number: &str,
    ) -> Result<(), IamError> {
        validate::serial_number(serial_number)?;
        let user = self.get_user(user_name)?;
        let uk = key_of(&user.name);
        let assigned = self
            .mfa
            .get(serial_number)
            .is_some_and(|m| m.user.as_deref().is_some_and(|u| key_of(u) == uk));
        if !assigned {
            return Err(IamError::no_such(format!(
                "MFA Device with serial number {serial_number} does not exist for user {user_name}."
            )));
        }
        let device = self.mfa_mut(serial_number)?;
        device.user = None;
        device.enable_date = None;
        Ok(())
    }

    /// The devices enabled for the user, by serial number.
    pub fn list_mfa_devices(&self, user_name: &str) -> Result<Vec<&MfaDevice>, IamError> {
        let user = self.get_user(user_name)?;
        let uk = key_of(&user.name);
        let mut out: Vec<&MfaDevice> = self
            .mfa
            .values()
            .filter(|m| m.user.as_deref().is_some_and(|u| key_of(u) == uk))
            .map(|m| &**m)
            .collect();
        out.sort_by(|a, b| a.serial_number.cmp(&b.serial_number));
        Ok(out)
    }

    /// Virtual devices by serial number, filtered by assignment.
    pub fn list_virtual_mfa_devices(&self, status: AssignmentStatus) -> Vec<&MfaDevice> {
        let mut out: Vec<&MfaDevice> = self
            .mfa
            .values()
            .filter(|m| match status {
                AssignmentStatus::Any => true,
                AssignmentStatus::Assigned => m.user.is_some(),
                AssignmentStatus::Unassigned => m.user.is_none(),
            })
            .map(|m| &**m)
            .collect();
        out.sort_by(|a, b| a.serial_number.cmp(&b.serial_number));
        out
    }

    /// Deletes a virtual device that is not enabled for a user.
    pub fn delete_virtual_mfa_device(&mut self, serial_number: &str) -> Result<(), IamError> {
        validate::serial_number(serial_number)?;
        let device = self
            .mfa
            .get(serial_number)
            .ok_or_else(|| device_not_found(serial_number))?;
        if device.user.is_some() {
            return Err(IamError::conflict("MFA device is still in use."));
        }
        Arc::make_mut(&mut self.mfa).remove(serial_number);
        self.touch(Collection::Mfa, serial_number);
        Ok(())
    }

    /// A device by serial number (for STS `GetSessionToken`).
    pub fn find_mfa_device(&self, serial_number: &str) -> Option<&MfaDevice> {
        self.mfa.get(serial_number).map(|d| &**d)
    }
}
