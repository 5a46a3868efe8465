# steward's bridge to Python filter, test and lookup plugins: one long-lived process on the
# controller, started on first use, that loads plugins with the installed ansible-core's own
# plugin loader and answers one JSON request per line with one JSON line.
import json
import sys


def _plain(o):
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if isinstance(o, bytes):
        return o.decode('utf-8', 'surrogateescape')
    return str(o)


def main():
    channel = sys.stdout
    # A plugin that prints must not corrupt the answers.
    sys.stdout = sys.stderr
    from ansible.plugins.loader import init_plugin_loader, filter_loader, test_loader, lookup_loader

    loaders = {'filter': filter_loader, 'test': test_loader, 'lookup': lookup_loader}
    started = False
    templar = None
    loader = None
    for line in sys.stdin:
        req = json.loads(line)
        op = req.get('op')
        try:
            if op == 'init':
                if not started:
                    init_plugin_loader(req.get('collections') or [])
                    started = True
                for kind, dirs in (req.get('dirs') or {}).items():
                    for d in dirs:
                        loaders[kind].add_directory(d)
                out = True
            elif op == 'has':
                out = loaders[req['kind']].get(req['name']) is not None
            elif op in ('filter', 'test'):
                plugin = loaders[op].get(req['name'])
                if plugin is None:
                    raise KeyError('no %s plugin named %s' % (op, req['name']))
                fn = getattr(plugin, 'j2_function', plugin)
                out = fn(req['value'], *req.get('args', []), **req.get('kwargs', {}))
                if op == 'test':
                    out = bool(out)
            elif op == 'lookup':
                if loader is None:
                    from ansible.parsing.dataloader import DataLoader
                    from ansible.template import Templar
                    loader = DataLoader()
                    templar = Templar(loader=loader)
                variables = req.get('variables') or {}
                if variables.get('playbook_dir'):
                    loader.set_basedir(variables['playbook_dir'])
                plugin = lookup_loader.get(req['name'], loader=loader, templar=templar)
                if plugin is None:
                    raise KeyError("lookup plugin (%s) not found" % req['name'])
                out = plugin.run(req.get('terms', []), variables=variables, **req.get('kwargs', {}))
            else:
                raise ValueError('unknown request %r' % op)
            answer = {'ok': out}
        except Exception as e:  # the error goes back to the template that called the plugin
            answer = {'error': str(e) or type(e).__name__, 'type': type(e).__name__}
        channel.write(json.dumps(answer, default=_plain) + '\n')
        channel.flush()


main()
