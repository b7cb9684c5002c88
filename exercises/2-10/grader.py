"""Grader of exercise 2-10: a chat server for many users, with rooms."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grader"))
import kit  # noqa: E402
from multichat import users  # noqa: E402

grader = kit.Grader("2-10", "a chat server with many users and rooms")


def join(user, room):
    """/join ROOM, confirmed by a "* " line naming the room."""
    user.say("/join %s" % room)
    while True:
        line = user.conn.read_line(5, 'the server\'s confirmation of "/join %s" (a line '
                                      'starting "* " with the room\'s name)' % room)
        if line.startswith("*") and room in line:
            return


@grader.check("everyone starts in the same room")
def _(ctx):
    s = ctx.start_server()
    alice, bob, carol = users(ctx, s, "alice", "bob", "carol")
    alice.say("hello lobby")
    bob.hears("alice", "hello lobby")
    carol.hears("alice", "hello lobby")
    return "alice, bob and carol started together: alice's line reached both others"


@grader.check("a room hears its own people")
def _(ctx):
    s = ctx.start_server()
    alice, carol, dave = users(ctx, s, "alice", "carol", "dave")
    join(carol, "kitchen")
    join(dave, "kitchen")
    dave.say("pass the salt")
    carol.hears("dave", "pass the salt")
    return 'carol and dave joined "kitchen": dave\'s line reached carol'


@grader.check("other rooms do not hear")
def _(ctx):
    s = ctx.start_server()
    alice, bob, carol, dave = users(ctx, s, "alice", "bob", "carol", "dave")
    join(carol, "kitchen")
    join(dave, "kitchen")
    alice.say("lobby only")
    bob.hears("alice", "lobby only")
    dave.say("kitchen only")
    carol.hears("dave", "kitchen only", ' (alice\'s "lobby only" was said in another room)')
    alice.say("still lobby")
    bob.hears("alice", "still lobby", ' (dave\'s "kitchen only" was said in another room)')
    return "lines said in the lobby and in the kitchen each stayed in their room"


@grader.check("moving back to a room")
def _(ctx):
    s = ctx.start_server()
    alice, carol = users(ctx, s, "alice", "carol")
    join(carol, "kitchen")
    join(carol, "lobby")
    alice.say("welcome back")
    carol.hears("alice", "welcome back")
    return "carol went to the kitchen and back: she heard the lobby again"


@grader.check("leaving a room for another")
def _(ctx):
    s = ctx.start_server()
    alice, bob, carol = users(ctx, s, "alice", "bob", "carol")
    join(carol, "attic")
    alice.say("is carol gone?")
    bob.hears("alice", "is carol gone?")
    bob.say("she is")
    alice.hears("bob", "she is")
    join(alice, "attic")
    alice.say("found you")
    carol.hears("alice", "found you", " (the lobby's lines said while she was in the attic "
                                      "were not hers to hear)")
    carol.say("hi alice")
    alice.hears("carol", "hi alice", " (both are in the attic now)")
    return "carol left for the attic and no longer heard the lobby; alice followed and heard her"


if __name__ == "__main__":
    grader.main()
