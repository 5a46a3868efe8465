# A web root with a page that is no longer in the release, and one that is out of date.
mkdir -p /srv/www/old
echo '<h1>v1</h1>' > /srv/www/index.html
echo 'gone' > /srv/www/old/page.html
