# What the playbook removes: a group and an account with a home.
groupadd oldteam
useradd -m -s /bin/bash carol
touch /home/carol/notes.txt
useradd -G audio,video dave
