from __future__ import annotations

from ansible.plugins.action.debug import ActionModule

assert ActionModule
