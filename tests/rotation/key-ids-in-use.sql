SELECT wrapped_by AS key_id, 'data keys wrapped under it' AS what, count(*) AS n FROM data_keys GROUP BY wrapped_by
UNION ALL
SELECT substr(totp_secret, 4, 8), 'TOTP secrets from before data keys', count(*) FROM users
  WHERE totp_secret IS NOT NULL AND substr(totp_secret, 4, 8) NOT IN (SELECT kid FROM data_keys) GROUP BY 1
UNION ALL
SELECT substr(totp_pending_secret, 4, 8), 'unfinished TOTP set-ups from before data keys', count(*) FROM users
  WHERE totp_pending_secret IS NOT NULL AND substr(totp_pending_secret, 4, 8) NOT IN (SELECT kid FROM data_keys) GROUP BY 1
UNION ALL
SELECT substr(code_hash, 1, 8), 'unused recovery codes from before data keys', count(*) FROM recovery_codes
  WHERE used_at IS NULL AND substr(code_hash, 1, 8) NOT IN (SELECT kid FROM data_keys) GROUP BY 1
