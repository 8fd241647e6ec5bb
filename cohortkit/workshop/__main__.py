"""``python -m cohortkit.workshop --notebooks notebooks --out workshop`` (``make workshop``)."""

import sys

from ._build import main

sys.exit(main())
