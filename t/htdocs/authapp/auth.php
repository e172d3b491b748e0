<?php
/*
 * FastCGI AUTHORIZER in PHP for t/042_authz_php.t, run by `php-cgi -b
 * t/logs/auth-php.sock` (t/TEST.PL).  php-cgi executes SCRIPT_FILENAME, which
 * mod_fcgix sets to the authorizer's path (this file).
 *
 * Same contract as t/apps/auth.pl (see there), minus crash and hang:
 * the action is the first word of FCGIX_REQUIRE, else the REQUEST_URI path
 * segment ROLE=ACTION (authn|authz|access), else all=ACTION, else deny.
 * Actions: allow, deny, unauth, unauth-bare, gone, notfound, user [NAMES],
 * user404, rewrite.  "allow" echoes what the app received as
 * Variable-SEEN_<R>_* with APP=php.
 */
$role = isset($_SERVER['FCGI_APACHE_ROLE']) ? $_SERVER['FCGI_APACHE_ROLE']
                                             : 'NONE';
$shorts = array('AUTHENTICATOR' => 'authn', 'AUTHORIZER' => 'authz',
                'ACCESS_CHECKER' => 'access');
$short = isset($shorts[$role]) ? $shorts[$role] : 'none';
$R = strtoupper($short);
$user = isset($_SERVER['REMOTE_USER']) ? $_SERVER['REMOTE_USER'] : null;
$pw = isset($_SERVER['REMOTE_PASSWD']) ? $_SERVER['REMOTE_PASSWD'] : null;

$args = array();
$require = isset($_SERVER['FCGIX_REQUIRE']) ? trim($_SERVER['FCGIX_REQUIRE'])
                                            : '';
if ($require !== '') {
    $args = preg_split('/\s+/', $require);
    $action = array_shift($args);
} else {
    $uri = isset($_SERVER['REQUEST_URI']) ? $_SERVER['REQUEST_URI'] : '';
    $p = explode('?', $uri, 2);
    $mine = null;
    $all = null;
    foreach (explode('/', $p[0]) as $seg) {
        if (!preg_match('/^(authn|authz|access|all)=([\w.-]+)$/', $seg, $m)) {
            continue;
        }
        if ($m[1] === $short && $mine === null) {
            $mine = $m[2];
        }
        if ($m[1] === 'all' && $all === null) {
            $all = $m[2];
        }
    }
    $action = $mine !== null ? $mine : ($all !== null ? $all : 'deny');
}

if ($action === 'user' || $action === 'user404') {
    if ($short === 'authn') {
        if ($user === 'alice' && $pw === 'secret') {
            $action = 'allow';
        } elseif ($action === 'user404' && $user !== 'alice'
                  && $user !== 'mallory') {
            $action = 'notfound';
        } else {
            $action = 'unauth';
        }
    } else {
        $ok = $args ? $args : array('alice');
        $action = $user === null ? 'unauth'
                : (in_array($user, $ok, true) ? 'allow' : 'deny');
    }
}

header('Content-Type: text/plain');
switch ($action) {
case 'allow':
case 'rewrite':
    // mod_fcgix grants only on an explicit 200; PHP sends no Status
    // for 200 unless told to
    header('Status: 200 OK');
    header('Variable-AUTH_TEAM: blue');
    header("Variable-AUTH_ROLE_$role: yes");
    $seen = array(
        'APP' => 'php',
        'FCGI_ROLE' => isset($_SERVER['FCGI_ROLE']) ? $_SERVER['FCGI_ROLE']
                                                    : 'none',
        'APACHE_ROLE' => $role,
        'SCRIPT_FILENAME' => isset($_SERVER['SCRIPT_FILENAME'])
                             ? $_SERVER['SCRIPT_FILENAME'] : 'none',
        'AUTH_FILENAME' => isset($_SERVER['FCGIX_AUTH_FILENAME'])
                           ? $_SERVER['FCGIX_AUTH_FILENAME'] : 'none',
        'REMOTE_USER' => $user === null ? '-' : $user,
        'PASSWD' => $pw === null ? 'none' : ($pw === 'secret' ? 'ok'
                                                              : 'other'),
        'CONTENT_LENGTH' => isset($_SERVER['CONTENT_LENGTH'])
                            && $_SERVER['CONTENT_LENGTH'] !== ''
                            ? $_SERVER['CONTENT_LENGTH'] : 'none',
        'REQUIRE' => $require === '' ? '-' : $require,
        'METHOD' => isset($_SERVER['REQUEST_METHOD'])
                    ? $_SERVER['REQUEST_METHOD'] : 'none',
    );
    foreach ($seen as $k => $v) {
        header("Variable-SEEN_{$R}_$k: $v");
    }
    if ($action === 'rewrite') {
        header('Variable-REMOTE_USER: '
               . ($user === null ? 'nobody' : $user) . '-rewritten');
    }
    header('X-Leak: yes');
    echo "allowed\n";
    break;
case 'unauth':
case 'unauth-bare':
    http_response_code(401);
    header('X-Why: php-wants-auth');
    if ($action === 'unauth') {
        header('WWW-Authenticate: Basic realm="fcgi-php"');
    }
    echo "php authorizer wants credentials ($role)\n";
    break;
case 'gone':
    http_response_code(410);
    echo "php authorizer: gone\n";
    break;
case 'notfound':
    http_response_code(404);
    echo "php authorizer: no such user\n";
    break;
default:
    http_response_code(403);
    header('X-Why: php-said-no');
    header('Variable-DENY_SECRET: leak');
    echo "php authorizer denied $role for "
         . ($user === null ? '-' : $user) . "\n";
}
