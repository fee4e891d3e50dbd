"""A project in the original iiswsgi's layout (setup.py keywords, setup.cfg
command_packages, MANIFEST.in and the *.in templates), built unchanged."""
from setuptools import setup

setup(
    name='IISWSGISampleApp',
    version='0.3',
    title='IIS WSGI Sample App',
    description='Sample app demonstrating iiswsgi with Microsoft Web Deploy.',
    keywords='python IIS FastCGI WSGI',
    author='Sample Author',
    author_email='sample@example.com',
    author_url='http://example.com/author',
    url='http://example.com/sample',
    license='GPL version 3',
    license_url='http://www.gnu.org/licenses/gpl.txt',
    icon_url='http://example.com/icon.png',
    packages=['sampleapp'],
    setup_requires=['iiswsgi'],
    extras_require=dict(install_msdeploy=['PasteDeploy'], webpi_eggs=['iiswsgi']),
)
