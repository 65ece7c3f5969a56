// The "Show" / "Hide" button beside a password field (`button[data-reveal="<field id>"]`).

/** Wires every `button[data-reveal]` to show or hide the password field it names. */
export function wireRevealButtons(root = document) {
  for (const button of root.querySelectorAll('button[data-reveal]')) {
    const input = document.getElementById(button.dataset.reveal);
    if (!input) continue;
    button.setAttribute('aria-controls', input.id);
    const render = () => {
      const shown = input.type === 'text';
      button.textContent = shown ? 'Hide' : 'Show';
      button.setAttribute('aria-label', shown ? 'Hide password' : 'Show password');
      button.setAttribute('aria-pressed', String(shown));
    };
    button.addEventListener('click', () => {
      input.type = input.type === 'password' ? 'text' : 'password';
      render();
    });
    render();
  }
}

/** Puts every password field of a form back to hidden (after submit, before it is reused). */
export function hidePasswords(form) {
  for (const button of form.querySelectorAll('button[data-reveal]')) {
    const input = document.getElementById(button.dataset.reveal);
    if (input && input.type === 'text') button.click();
  }
}
