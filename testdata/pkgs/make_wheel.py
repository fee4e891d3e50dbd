"""Builds a wheel of the one-module package in iiswsgi_marker/ with the
standard library only, so tests can pip-install a real package offline
(`pip install --no-index WHEEL`) without setuptools or wheel in the venv.

usage: python make_wheel.py OUT_DIR
"""
import base64
import hashlib
import pathlib
import sys
import zipfile

NAME, VERSION = 'iiswsgi_marker', '1.0'


def digest(data):
    return 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()


def main(out_dir):
    src = pathlib.Path(__file__).parent / 'iiswsgi_marker' / NAME / '__init__.py'
    dist_info = f'{NAME}-{VERSION}.dist-info'
    files = {
        f'{NAME}/__init__.py': src.read_bytes(),
        f'{dist_info}/METADATA': f'Metadata-Version: 2.1\nName: iiswsgi-marker\nVersion: {VERSION}\n'.encode(),
        f'{dist_info}/WHEEL': b'Wheel-Version: 1.0\nGenerator: make_wheel.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
    }
    record = ''.join(f'{name},{digest(data)},{len(data)}\n' for name, data in files.items())
    record += f'{dist_info}/RECORD,,\n'
    files[f'{dist_info}/RECORD'] = record.encode()
    wheel = pathlib.Path(out_dir) / f'{NAME}-{VERSION}-py3-none-any.whl'
    with zipfile.ZipFile(wheel, 'w') as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    print(wheel)


if __name__ == '__main__':
    main(sys.argv[1])
