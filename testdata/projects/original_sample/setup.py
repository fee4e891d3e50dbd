"""A project exactly in the original iiswsgi's layout (its
examples/sample.msdeploy): it names its server and app by Paste Deploy
entry points of the `iiswsgi` distribution (iis_fcgi.ini), its runCommand
calls `iiswsgi_install.exe` from a Windows Python install, and its
web.config runs `paster serve` from there. Built and installed unchanged."""
from setuptools import setup

setup(
    name='IISWSGIOriginalSample',
    version='0.2',
    title='IIS WSGI Original Sample',
    description='The original iiswsgi sample, unchanged: Paste Deploy and paster serve.',
    keywords='python IIS FastCGI WSGI',
    author='Sample Author',
    author_email='sample@example.com',
    author_url='http://example.com/author',
    url='http://example.com/original-sample',
    license='GPL version 3',
    license_url='http://www.gnu.org/licenses/gpl.txt',
    icon_url='http://example.com/icon.png',
    setup_requires=['iiswsgi'],
    extras_require=dict(install_msdeploy=['PasteDeploy'], webpi_eggs=['virtualenv', 'iiswsgi']),
)
