<?php
// t/025_buffering.t: three chunks 0.5 s apart, each flushed by PHP;
// ?buf=no|yes sends X-Accel-Buffering.
if (isset($_GET['buf'])) {
    header('X-Accel-Buffering: ' . $_GET['buf']);
}
header('Content-Type: text/plain');
for ($i = 1; $i <= 3; $i++) {
    echo "chunk$i\n";
    flush();
    if ($i < 3) {
        usleep(500000);
    }
}
