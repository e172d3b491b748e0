#!/bin/sh
# A FastCGI application that cannot start: it exits at once (t/062: the
# process manager backs off instead of fork-looping, FCGIX00154).
exit 3
