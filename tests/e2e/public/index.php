<?php
// The application's front controller, served by php-fpm behind nginx.
//   GET  /                  "hello from php-fpm" and the queue's counts
//   GET  /?sleep=N          answers after N seconds (an in-flight request)
//   GET  /?log=TEXT         first writes "TEXT end" to php-fpm's stderr
//   GET  /?job=ID           "job ID: pending" or "job ID: done by PID"
//   POST / (body = payload) queues a job; answers "queued job ID"

declare(strict_types=1);

header('Content-Type: text/plain');
$db = getenv('DB_DATABASE') ?: dirname(__DIR__) . '/database/database.sqlite';
$pdo = new PDO("sqlite:$db");
$pdo->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
$pdo->setAttribute(PDO::ATTR_TIMEOUT, 30);

if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $payload = file_get_contents('php://input');
    $pdo->prepare('INSERT INTO jobs (payload, queued_at) VALUES (?, ?)')
        ->execute([$payload, microtime(true)]);
    echo 'queued job ' . $pdo->lastInsertId() . "\n";
    exit;
}
if (isset($_GET['log'])) {
    file_put_contents('php://stderr', $_GET['log'] . " end\n");
}
if (isset($_GET['sleep'])) {
    sleep((int) $_GET['sleep']);
    echo 'slept ' . (int) $_GET['sleep'] . "\n";
}
if (isset($_GET['job'])) {
    $st = $pdo->prepare('SELECT done_by FROM jobs WHERE id = ?');
    $st->execute([(int) $_GET['job']]);
    $row = $st->fetch(PDO::FETCH_ASSOC);
    if ($row === false) {
        http_response_code(404);
        echo 'job ' . (int) $_GET['job'] . ": unknown\n";
    } elseif ($row['done_by'] === null) {
        echo 'job ' . (int) $_GET['job'] . ": pending\n";
    } else {
        echo 'job ' . (int) $_GET['job'] . ': done by ' . $row['done_by'] . "\n";
    }
    exit;
}
$counts = $pdo->query('SELECT COUNT(*) AS queued, COUNT(done_at) AS done FROM jobs')->fetch(PDO::FETCH_ASSOC);
echo 'hello from php-fpm (pid ' . getmypid() . "), jobs queued {$counts['queued']}, done {$counts['done']}\n";
