//! Rotation and deletion: the time-driven part of a key's life.

use time::{Duration, OffsetDateTime};

use super::admin::new_material;
use super::model::{Key, KeyState, RotationType};
use super::validate;
use super::{
    KeyRing, MAX_ON_DEMAND_ROTATIONS, RotationStatus, RotationsListEntry, ScheduledDeletion,
    check_not_pending, persist,
};
use crate::error::KeyError;

/// Rotation configuration changes need an Enabled key.
fn check_enabled_for_rotation(k: &Key) -> Result<(), KeyError> {
    check_not_pending(k)?;
    if k.state == KeyState::Disabled {
        return Err(KeyError::Disabled(format!("{} is disabled.", k.arn)));
    }
    Ok(())
}

fn add_material(k: &mut Key, now: OffsetDateTime, kind: RotationType) -> Result<(), KeyError> {
    let version = k
        .materials
        .last()
        .map_or(1, |m| m.version.saturating_add(1));
    k.materials.push(new_material(version, now, Some(kind))?);
    Ok(())
}

impl KeyRing {
    /// KMS `EnableKeyRotation`. The next rotation is `period` days after the
    /// last automatic rotation (or after now, when rotation was off).
    pub fn enable_key_rotation(
        &mut self,
        region: &str,
        key_ref: &str,
        rotation_period_in_days: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<(), KeyError> {
        let period = validate::rotation_period(rotation_period_in_days)?;
        check_enabled_for_rotation(self.resolve_key_only(region, key_ref)?)?;
        let k = self.key_mut(region, key_ref)?;
        // Changing the period of an enabled schedule keeps its starting point
        // (the enable date or the last automatic rotation).
        let old_period = Duration::days(i64::from(k.rotation.period_days));
        let anchor = match (k.rotation.enabled, k.rotation.next) {
            (true, Some(next)) => next - old_period,
            _ => now,
        };
        k.rotation.enabled = true;
        k.rotation.period_days = period;
        k.rotation.next = Some(anchor + Duration::days(i64::from(period)));
        Ok(())
    }

    /// KMS `DisableKeyRotation`.
    pub fn disable_key_rotation(&mut self, region: &str, key_ref: &str) -> Result<(), KeyError> {
        check_enabled_for_rotation(self.resolve_key_only(region, key_ref)?)?;
        let k = self.key_mut(region, key_ref)?;
        k.rotation.enabled = false;
        k.rotation.next = None;
        Ok(())
    }

    /// KMS `GetKeyRotationStatus`. `key_id` is the key ARN.
    pub fn get_key_rotation_status(
        &self,
        region: &str,
        key_ref: &str,
    ) -> Result<RotationStatus, KeyError> {
        let k = self.resolve_key_only(region, key_ref)?;
        let on = k.rotation.enabled;
        Ok(RotationStatus {
            key_rotation_enabled: on,
            key_id: k.arn.clone(),
            rotation_period_in_days: on.then_some(k.rotation.period_days),
            next_rotation_date: if on { k.rotation.next } else { None },
        })
    }

    /// KMS `RotateKeyOnDemand`: a new material version now; the automatic
    /// schedule is unchanged. Returns the key id.
    pub fn rotate_key_on_demand(
        &mut self,
        region: &str,
        key_ref: &str,
        now: OffsetDateTime,
    ) -> Result<String, KeyError> {
        let k = self.resolve_key_only(region, key_ref)?;
        check_enabled_for_rotation(k)?;
        if k.on_demand_rotations() >= MAX_ON_DEMAND_ROTATIONS {
            return Err(KeyError::LimitExceeded(format!(
                "{} has reached the limit of {MAX_ON_DEMAND_ROTATIONS} on-demand rotations.",
                k.arn
            )));
        }
        let k = self.key_mut(region, key_ref)?;
        add_material(k, now, RotationType::OnDemand)?;
        Ok(k.id.clone())
    }

    /// KMS `ListKeyRotations`: the rotations, oldest first; with
    /// `include_all_key_material` (`ALL_KEY_MATERIAL`) the first material too.
    pub fn list_key_rotations(
        &self,
        region: &str,
        key_ref: &str,
        include_all_key_material: bool,
    ) -> Result<Vec<RotationsListEntry>, KeyError> {
        let k = self.resolve_key_only(region, key_ref)?;
        let current = k.current().map(|m| m.version);
        Ok(k.materials
            .iter()
            .filter(|m| include_all_key_material || m.rotation.is_some())
            .map(|m| RotationsListEntry {
                key_id: k.id.clone(),
                key_material_id: m.material_id.clone(),
                key_material_state: if Some(m.version) == current {
                    "CURRENT"
                } else {
                    "NON_CURRENT"
                },
                rotation_date: m.rotation.map(|_| m.created),
                rotation_type: m.rotation,
            })
            .collect())
    }

    /// Performs every automatic rotation that is due at `now` (Enabled keys
    /// only, as KMS skips disabled ones) and returns the rotated key ids.
    /// One rotation per call even if several periods were missed.
    pub fn rotate_due(&mut self, now: OffsetDateTime) -> Result<Vec<String>, KeyError> {
        let due: Vec<String> = self
            .keys
            .values()
            .filter(|k| k.state == KeyState::Enabled && k.rotation.enabled)
            .filter(|k| k.rotation.next.is_some_and(|n| n <= now))
            .map(|k| k.id.clone())
            .collect();
        for id in &due {
            if let Some(k) = self.keys.get_mut(id) {
                add_material(k, now, RotationType::Automatic)?;
                k.rotation.next = Some(now + Duration::days(i64::from(k.rotation.period_days)));
                self.dirty.insert(persist::key_record(id));
            }
        }
        Ok(due)
    }

    /// KMS `ScheduleKeyDeletion` (window 7..=30 days, default 30).
    pub fn schedule_key_deletion(
        &mut self,
        region: &str,
        key_ref: &str,
        pending_window_in_days: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<ScheduledDeletion, KeyError> {
        let days = validate::deletion_window(pending_window_in_days)?;
        check_not_pending(self.resolve_key_only(region, key_ref)?)?;
        let k = self.key_mut(region, key_ref)?;
        let when = now + Duration::days(i64::from(days));
        k.state = KeyState::PendingDeletion;
        k.deletion_date = Some(when);
        k.pending_window_days = Some(days);
        Ok(ScheduledDeletion {
            key_id: k.arn.clone(),
            deletion_date: when,
            key_state: KeyState::PendingDeletion,
            pending_window_in_days: days,
        })
    }

    /// KMS `CancelKeyDeletion`: the key returns Disabled, as in KMS.
    /// Returns the key ARN.
    pub fn cancel_key_deletion(&mut self, region: &str, key_ref: &str) -> Result<String, KeyError> {
        let k = self.resolve_key_only(region, key_ref)?;
        if k.state != KeyState::PendingDeletion {
            return Err(KeyError::InvalidState(format!(
                "{} is not pending deletion.",
                k.arn
            )));
        }
        let k = self.key_mut(region, key_ref)?;
        k.state = KeyState::Disabled;
        k.deletion_date = None;
        k.pending_window_days = None;
        Ok(k.arn.clone())
    }

    /// Deletes keys whose deletion date has passed, with their aliases, and
    /// returns their ids. Their ciphertexts can never be decrypted again.
    pub fn purge_expired(&mut self, now: OffsetDateTime) -> Vec<String> {
        let gone: Vec<String> = self
            .keys
            .values()
            .filter(|k| k.state == KeyState::PendingDeletion)
            .filter(|k| k.deletion_date.is_some_and(|d| d <= now))
            .map(|k| k.id.clone())
            .collect();
        for id in &gone {
            self.keys.remove(id);
            self.dirty.insert(persist::key_record(id));
        }
        let dead: Vec<(String, String)> = self
            .aliases
            .iter()
            .filter(|(_, a)| !self.keys.contains_key(&a.target_key_id))
            .map(|(slot, _)| slot.clone())
            .collect();
        for slot in dead {
            self.dirty.insert(persist::alias_record(&slot.0, &slot.1));
            self.aliases.remove(&slot);
        }
        gone
    }
}
