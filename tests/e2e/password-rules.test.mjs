// The page's live password checklist judges a password as the server does: in Unicode NFC, so a
// password typed with decomposed accents is counted in the characters the server counts.
// Pure Node: it imports the page's module.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { passwordRules } from '../../public/js/password-rules.js';

test('length is counted in characters after NFC, as the server counts it', () => {
  const decomposed = 'e\u0301'.repeat(8) + '1!x'; // 11 characters, 19 code points
  assert.equal(passwordRules(decomposed).length, false);
  assert.equal(passwordRules('e\u0301'.repeat(10) + '1!').length, true);
  const composed = 'Caf\u00e9-cr\u00e8me-42!';
  assert.deepEqual(passwordRules(composed.normalize('NFD')), passwordRules(composed));
});
