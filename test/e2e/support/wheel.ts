import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

/**
 * Writes a pure-Python wheel `<name>-<version>-py3-none-any.whl` into `dir`: one module whose VERSION is
 * `version` and greet(name). The lab has no package index, so the e2e wheelhouse holds what we make here;
 * Python's zipfile writes it (pip wheel would need the `wheel` package, which the deployer may lack).
 */
export function writeWheel(dir: string, name: string, version: string): string {
  mkdirSync(dir, { recursive: true });
  const program = `
import base64, hashlib, sys, zipfile
out, dist, version = sys.argv[1], sys.argv[2], sys.argv[3]
module = dist.replace("-", "_")
info = f"{module}-{version}.dist-info"
files = {
    f"{module}/__init__.py": f'VERSION = "{version}"\\n\\ndef greet(name):\\n    return f"hello {{name}} from {dist} {version}"\\n'.encode(),
    f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: {dist}\\nVersion: {version}\\n".encode(),
    f"{info}/WHEEL": b"Wheel-Version: 1.0\\nGenerator: shipit-e2e\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
digest = lambda data: base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
record = [f"{path},sha256={digest(data)},{len(data)}" for path, data in files.items()] + [f"{info}/RECORD,,"]
files[f"{info}/RECORD"] = ("\\n".join(record) + "\\n").encode()
path = f"{out}/{module}-{version}-py3-none-any.whl"
with zipfile.ZipFile(path, "w") as wheel:
    for name, data in files.items():
        entry = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
        entry.external_attr = 0o644 << 16
        wheel.writestr(entry, data)
print(path)
`;
  return execFileSync('python3', ['-c', program, dir, name, version], { encoding: 'utf8' }).trim();
}
