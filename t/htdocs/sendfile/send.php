<?php
// t/026_sendfile.t: an application that checked access and hands the
// file (?file=) or a URI (?uri=) back to httpd, with headers of its own.
if (isset($_GET['notype'])) {
    // no Content-Type at all: httpd types the file
    ini_set('default_mimetype', '');
}
if (isset($_GET['type'])) {
    header('Content-Type: ' . $_GET['type']);
}
header('Content-Disposition: attachment; filename="report.bin"');
setcookie('sf', 'app');
if (isset($_GET['file'])) {
    header('X-Sendfile: ' . $_GET['file']);
}
if (isset($_GET['uri'])) {
    header('X-Accel-Redirect: ' . $_GET['uri']);
}
echo "body from the application\n";
