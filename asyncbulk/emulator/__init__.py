"""A local emulator of Salesforce's Bulk API 2.0 ingest, for tests, benchmarks and demos.

.. code-block:: python

    async with Emulator(EmulatorConfig(workers=2)) as emu:
        emu.instance_url, emu.access_token  # connect any Bulk API 2.0 client here
"""

from ._config import EmulatorConfig as EmulatorConfig
from ._config import FaultConfig as FaultConfig
from ._config import OAuthConfig as OAuthConfig
from ._server import Emulator as Emulator
from ._server import EmulatorProcess as EmulatorProcess
from ._server import EmulatorThread as EmulatorThread

__all__ = ["Emulator", "EmulatorConfig", "EmulatorProcess", "EmulatorThread", "FaultConfig", "OAuthConfig"]
