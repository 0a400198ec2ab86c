"""A local emulator of Salesforce's Bulk API 2.0 (ingest and query), for tests, benchmarks and demos.

.. code-block:: python

    async with Emulator(EmulatorConfig(workers=2)) as emu:
        emu.instance_url, emu.access_token  # connect any Bulk API 2.0 client here
        emu.org.count("Contact")  # the emulated org's records

The emulator is four layers, each importing only the ones below: ``_http`` (the REST surface),
``_query`` (query jobs and their result pages), ``_ingest`` (ingest jobs, uploads, batches) and
``_data`` (the org's records in SQLite, seen through :class:`Org`), over the shared vocabulary in
``_vocab``.
"""

from ._config import EmulatorConfig as EmulatorConfig
from ._config import FaultConfig as FaultConfig
from ._config import OAuthConfig as OAuthConfig
from ._config import Profile as Profile
from ._data import JobSpec as JobSpec
from ._data import Org as Org
from ._data import Schema as Schema
from ._server import Emulator as Emulator
from ._server import EmulatorProcess as EmulatorProcess
from ._server import EmulatorThread as EmulatorThread
from ._vocab import Operation as Operation

__all__ = [
    "Emulator",
    "EmulatorConfig",
    "EmulatorProcess",
    "EmulatorThread",
    "FaultConfig",
    "JobSpec",
    "OAuthConfig",
    "Operation",
    "Org",
    "Profile",
    "Schema",
]
