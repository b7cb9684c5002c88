"""What the many-user chat graders (2-9, 2-10) share: users connected to the student's server,
named with /nick, reading the chat lines (the server's own lines, "* ...", are skipped)."""
import kit


class User:
    def __init__(self, ctx, server, name):
        self.name = name
        self.conn = ctx.connect(server)
        self.conn.send("/nick %s\n" % name)

    def say(self, text):
        self.conn.send(text + "\n")

    def next_chat_line(self, timeout=5):
        """The next line that is not the server's own ("* ...")."""
        while True:
            line = self.conn.read_line(timeout, "a chat line for %s" % self.name)
            if not line.startswith("*"):
                return line

    def hears(self, speaker, text, why="", timeout=5):
        """The next chat line this user receives is "<speaker> text"."""
        expected = "<%s> %s" % (speaker, text)
        try:
            line = self.next_chat_line(timeout)
        except kit.Fail as e:
            raise kit.Fail("%s said \"%s\"; expected %s to receive \"%s\"%s; %s"
                           % (speaker, text, self.name, expected, why, e))
        if line != expected:
            raise kit.Fail("expected %s's next chat line to be \"%s\"%s; got %s"
                           % (self.name, expected, why, kit.show(line)))


def users(ctx, server, *names):
    """Users with these names; each one's rename is confirmed (a "* " line naming them)
    before the next connects, so that all are known to the server when the checks speak."""
    out = []
    for name in names:
        u = User(ctx, server, name)
        while True:
            line = u.conn.read_line(5, 'the server\'s confirmation of "/nick %s" (a line '
                                       'starting "* " with the name)' % name)
            if line.startswith("*") and name in line:
                break
        out.append(u)
    return out
