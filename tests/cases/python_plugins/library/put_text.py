#!/usr/bin/python
# Writes a file's whole text; check mode and diff as AnsibleModule gives them.
from __future__ import annotations

import os

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type='path', required=True), text=dict(type='str', required=True)),
                           supports_check_mode=True)
    path, text = module.params['path'], module.params['text']
    old = open(path).read() if os.path.exists(path) else None
    changed = old != text
    if changed and not module.check_mode:
        with open(path + '.tmp', 'w') as f:
            f.write(text)
        os.rename(path + '.tmp', path)
    module.exit_json(changed=changed, path=path, diff=dict(before=old or '', after=text))


if __name__ == '__main__':
    main()
