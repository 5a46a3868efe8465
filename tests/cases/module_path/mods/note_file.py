#!/usr/bin/python
# Creates an empty file once.
from __future__ import annotations

import os

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type='path', required=True)), supports_check_mode=True)
    path = module.params['path']
    changed = not os.path.exists(path)
    if changed and not module.check_mode:
        open(path, 'w').close()
    module.exit_json(changed=changed, path=path)


if __name__ == '__main__':
    main()
