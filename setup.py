"""Build mnist-linear with setuptools from the metadata in settings.ini (nbdev 2's layout).

All settings live in settings.ini; edit them there, not here. pyproject.toml has no [project]
table, so setuptools takes every field from this call.
"""
import sys
from configparser import ConfigParser
from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).resolve().parent
ini = here/'settings.ini'
if not ini.is_file(): sys.exit(f'error: {ini} not found; setup.py reads all metadata from settings.ini')
config = ConfigParser(delimiters=['='])
config.read(ini, encoding='utf-8')
cfg = config['DEFAULT']

needed = 'lib_name lib_path version description author author_email license min_python status audience language keywords'.split()
missing = [k for k in needed if not cfg.get(k)]
if missing: sys.exit(f'error: settings.ini lacks {", ".join(missing)}')

licenses = {'apache2': 'Apache-2.0', 'mit': 'MIT', 'gpl3': 'GPL-3.0-only', 'bsd3': 'BSD-3-Clause'}
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive']
lib_path = cfg['lib_path']
lab, dev, instructor = (cfg.get(k, '').split() for k in ('lab_requirements', 'dev_requirements', 'instructor_requirements'))

setup(
    name=cfg['lib_name'],
    version=cfg['version'],
    description=cfg['description'],
    long_description=(here/'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    author=cfg['author'],
    author_email=cfg['author_email'],
    url=cfg.get('git_url') or None,
    license_expression=licenses.get(cfg['license'].lower(), cfg['license']),
    keywords=cfg['keywords'].split(),
    classifiers=[
        f'Development Status :: {statuses[int(cfg["status"]) - 1]}',
        f'Intended Audience :: {cfg["audience"]}',
        f'Natural Language :: {cfg["language"]}',
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3 :: Only',
    ],
    python_requires='>=' + cfg['min_python'],
    packages=find_packages(include=[lib_path, lib_path + '.*']),
    install_requires=cfg.get('requirements', '').split(),
    extras_require={'lab': lab, 'instructor': instructor, 'dev': list(dict.fromkeys(lab + dev + instructor))},
    entry_points={
        'console_scripts': cfg.get('console_scripts', '').split(),
        'nbdev': [f'{lib_path}={lib_path}._modidx:d'],
    },
    zip_safe=False,
)
