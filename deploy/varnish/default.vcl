vcl 4.1;

# Varnish in front of Newsroom's gunicorn: the edge cache, purged by surrogate key.
#
# - Stores only what the app marks shareable (`Cache-Control: public` with a lifetime, which
#   `@public_page` in newsroom/cache.py sends), for as long as `s-maxage` says (an hour when
#   purges reach this cache, NEWSROOM_EDGE_MAX_AGE). Nothing else: a 404, a 410, an error page
#   or a page setting a cookie is fetched again for the next reader.
# - Never looks up the admin (previews live there too), the health endpoints, anything but GET
#   and HEAD, or a request with the session cookie or Authorization: staff see fresh pages.
# - Forgets pages by the keys in their `xkey` header (vmod_xkey, from Debian's varnish-modules)
#   when the app sends `PURGE` with `xkey-purge: k1 k2` (hard: gone at once, for a takedown) or
#   `xkey-softpurge` (the old copy may be given while one fetch makes the new one), only on the
#   listener named `purge` and only from the `purgers` ACL.
# - Gives a stale copy, up to 1h past its lifetime, while the origin is down or failing.
# - Coalesces misses: readers asking for a page being fetched wait for that one fetch.
#
# deploy/varnish/render.py fills the placeholders; default.vcl is the copy for compose.yaml.

import std;
import xkey;

backend app {
    .host = "web";
    .port = "8000";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;  # gunicorn's own timeout
    .between_bytes_timeout = 10s;
    # Readiness, not liveness: without its database the app can only answer errors, and the
    # copies in grace are better. Healthy from the start (.initial), so the first readers
    # after a restart are not turned away while the first probes go out.
    .probe = {
        .url = "/readyz";
        .interval = 5s;
        .timeout = 2s;
        .window = 5;
        .threshold = 3;
        .initial = 3;
    }
}

# Who may purge: the app's web containers and task workers.
acl purgers {
    "127.0.0.1";
    "::1";
    "10.0.0.0"/8;
    "172.16.0.0"/12;
    "192.168.0.0"/16;
}

sub vcl_recv {
    if (req.restarts == 0) {
        # Set by this VCL only, never by a client.
        unset req.http.X-Newsroom-Cache;
        unset req.http.X-Newsroom-Stale-If-Error;
    }

    # Purges come on their own listener (`-a purge=…`), which is not published: nginx, which
    # is in the ACL's networks too, only ever forwards readers to the other one.
    if (local.socket == "purge" || req.method == "PURGE") {
        if (local.socket != "purge" || req.method != "PURGE") {
            return (synth(405, "Method Not Allowed"));
        }
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (req.http.xkey-purge) {
            set req.http.X-Newsroom-Purged = xkey.purge(req.http.xkey-purge);
        } elsif (req.http.xkey-softpurge) {
            set req.http.X-Newsroom-Purged = xkey.softpurge(req.http.xkey-softpurge);
        } else {
            return (synth(400, "Name the keys in xkey-purge or xkey-softpurge"));
        }
        return (synth(200, "Purged " + req.http.X-Newsroom-Purged));
    }

    if (!req.http.host && req.proto ~ "(?i)^HTTP/1\.1") {
        return (synth(400, "Bad Request"));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);  # sign-ups, logins, the admin's forms: to the app as they are
    }
    if (req.url ~ "^/admin(/|\?|$)" || req.url ~ "^/(healthz|readyz)(\?|$)") {
        return (pass);
    }
    # Newsletter links carry a reader's token: never stored, whatever a future view says.
    if (req.url ~ "^/newsletters/(confirm|unsubscribe|preferences)/") {
        return (pass);
    }
    if (req.http.Authorization || req.http.Cookie ~ "(^|;\s*)sessionid=") {
        return (pass);  # logged in (Django's SESSION_COOKIE_NAME): the page is theirs
    }
    # Public pages read no cookie: the CSRF cookie left by a visit to the login page, or a
    # third party's, must not make every reader's request a miss.
    unset req.http.Cookie;

    # While the origin is healthy, a soft-purged or expired copy is given only briefly, while
    # one fetch refreshes it; a reader coming later waits for the new page instead of getting
    # a stale one. When it is not, or has just failed this request (vcl_synth), any copy
    # still within its grace will do (set again: a restart keeps the first pass's req.grace).
    if (req.http.X-Newsroom-Stale-If-Error) {
        set req.grace = 1h;
    } elsif (std.healthy(req.backend_hint)) {
        set req.grace = 10s;
    }
    return (hash);
}

sub vcl_hash {
    # Pages carry absolute links: one made for https must not be given to a reader on http.
    # (The built-in vcl_hash then adds the URL and the Host.)
    if (req.http.X-Forwarded-Proto ~ "(?i)^https$") {
        hash_data("https");
    } else {
        hash_data("http");
    }
}

sub vcl_hit {
    if (obj.ttl >= 0s) {
        set req.http.X-Newsroom-Cache = "HIT";
    } else {
        set req.http.X-Newsroom-Cache = "STALE";
    }
}

sub vcl_miss {
    if (req.http.X-Newsroom-Stale-If-Error) {
        # No copy to give: do not ask the origin again.
        return (synth(503, "Service Unavailable"));
    }
    set req.http.X-Newsroom-Cache = "MISS";
}

sub vcl_pass {
    set req.http.X-Newsroom-Cache = "PASS";
}

sub vcl_backend_fetch {
    unset bereq.http.X-Newsroom-Cache;
    unset bereq.http.X-Newsroom-Stale-If-Error;
}

sub vcl_backend_response {
    if (bereq.uncacheable) {
        return (deliver);  # a pass: the app's answer as it is
    }
    if (beresp.status >= 500) {
        # Keeps any copy in grace: a background refresh leaves it in place, and a reader's
        # fetch goes to vcl_synth, which looks for it once more.
        return (abandon);
    }
    if (beresp.http.Cache-Control !~ "(?i)(^|,)\s*public\s*(,|$)"
        || beresp.http.Cache-Control !~ "(?i)(^|[,\s])(s-maxage|max-age)=\d+"
        || beresp.http.Cache-Control ~ "(?i)(private|no-store|no-cache)"
        || beresp.http.Set-Cookie
        || beresp.http.Vary == "*"
        || beresp.ttl <= 0s) {
        # Not for sharing. Remembered for a few seconds as such (hit-for-miss), so readers
        # asking meanwhile go to the app at once instead of queueing behind each other, and
        # the first shareable answer (a story just published at a 404's address) is stored.
        set beresp.uncacheable = true;
        set beresp.ttl = 10s;
        set beresp.grace = 0s;
        return (deliver);
    }
    # beresp.ttl is the app's s-maxage (else max-age); the grace is the stale bound.
    set beresp.grace = 1h;
    return (deliver);
}

sub vcl_backend_error {
    # No answer at all (refused, timed out, the probe says sick): as for a 5xx above, and a
    # pass gets vcl_synth's page too.
    return (abandon);
}

sub vcl_deliver {
    unset resp.http.xkey;  # the keys are for purging here, not for readers
    set resp.http.X-Cache = req.http.X-Newsroom-Cache;
    if (resp.http.Cache-Control ~ "(?i)s-maxage") {
        # s-maxage was for this cache, the one that purges reach. A shared cache further on
        # (an office proxy) would keep the page that long and never hear of a change: readers
        # get the browser lifetime (max-age, a minute at most) and nothing more. Age goes too:
        # purged on every change, this copy is as good as the app's own, and an Age of an
        # hour would have browsers treat a minute's max-age as long run out.
        set resp.http.Cache-Control =
            regsuball(resp.http.Cache-Control, "(?i),\s*s-maxage=\d+", "");
        set resp.http.Cache-Control =
            regsub(resp.http.Cache-Control, "(?i)^\s*s-maxage=\d+\s*,?\s*", "");
        unset resp.http.Age;
    }
}

sub vcl_synth {
    if (resp.status == 503 && req.restarts == 0 && req.http.X-Newsroom-Cache == "MISS") {
        # The fetch for a reader failed (origin down, or a 5xx): try once more for a copy in
        # grace, without asking the origin again.
        set req.http.X-Newsroom-Stale-If-Error = "1";
        return (restart);
    }
    if (resp.status == 503) {
        set resp.http.Retry-After = "30";
        set resp.http.Content-Type = "text/html; charset=utf-8";
        synthetic({"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Back in a moment</title></head>
<body><h1>Back in a moment</h1><p>The site cannot be reached just now. Please try again shortly.</p></body></html>
"});
        return (deliver);
    }
}
