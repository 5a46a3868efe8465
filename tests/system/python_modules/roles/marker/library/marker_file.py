#!/usr/bin/python
# A new-style module in a role's library/: writes a file's content, with check mode and diff.
from __future__ import annotations

DOCUMENTATION = r'''
module: marker_file
short_description: Write a file's whole content
options:
  path: {type: path, required: true, description: the file}
  content: {type: str, required: true, description: what it holds}
'''

import os

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(path=dict(type='path', required=True), content=dict(type='str', required=True)),
        supports_check_mode=True,
    )
    path, content = module.params['path'], module.params['content']
    before = None
    if os.path.exists(path):
        with open(path) as f:
            before = f.read()
    changed = before != content
    result = dict(changed=changed, path=path)
    if module._diff:
        result['diff'] = dict(before=before or '', after=content, before_header=path, after_header=path)
    if changed and not module.check_mode:
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            f.write(content)
        os.rename(tmp, path)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
