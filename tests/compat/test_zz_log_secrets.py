"""9. After the whole suite: no line the gateway logged (stdout and stderr,
at debug level) holds a secret access key, a session token, an MFA seed,
the upstream API key or any prompt the tests sent."""

from __future__ import annotations

import pytest

from harness import SECRETS, strip_ansi


@pytest.mark.after_all
def test_no_secret_or_prompt_in_any_log_line(gateway):
    # Let the gateway flush what it has.
    gateway.stop()
    kinds = {what for what in SECRETS.items.values()}
    assert "admin secret access key" in kinds
    assert any("session token" in k for k in kinds), "the suite handled no session token: nothing to look for"
    assert "prompt" in kinds
    lines = []
    for path in SECRETS.log_files:
        assert path.exists(), f"missing log {path}"
        lines += [(path.name, n, strip_ansi(line)) for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1)]
    assert lines, "the gateway logged nothing at all: the check would prove nothing"
    leaks = []
    for value, what in SECRETS.items.items():
        for name, n, line in lines:
            if value in line:
                shown = line.replace(value, f"<{what}>")[:300]
                leaks.append(f"{name}:{n}: {what}: {shown}")
                break
    assert not leaks, f"{len(leaks)} secret(s) in the logs (of {len(SECRETS.items)} looked for):\n" + "\n".join(leaks)
